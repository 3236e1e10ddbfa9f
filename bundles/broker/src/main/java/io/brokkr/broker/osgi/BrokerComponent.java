package io.brokkr.broker.osgi;

import io.brokkr.api.BrokerService;
import io.brokkr.api.BrokerStats;
import io.brokkr.api.ClientInfo;
import io.brokkr.api.ListenerInfo;
import io.brokkr.api.Message;
import io.brokkr.api.SessionInfo;
import io.brokkr.api.SubscriptionInfo;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.api.intercept.MessageInterceptor;
import io.brokkr.api.intercept.MessageObserver;
import io.brokkr.broker.engine.ObserverQueue;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker as a DS component (PID {@code io.brokkr.broker}, file {@code etc/io.brokkr.broker.cfg}; runs on its
 * defaults without the file). Authenticators, authorizers, interceptors, message sinks and a retained store are
 * picked up dynamically (GREEDY): adding, removing or replacing them never restarts the broker. Listeners are
 * separate factory components ({@link ListenerComponent}).
 */
@Component(name = "io.brokkr.broker", service = BrokerService.class, immediate = true,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public class BrokerComponent implements BrokerService {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerComponent.class);

    private volatile Broker broker;

    /** With their service properties, which a listener's auth.filter selects on. */
    private final Ranked<Broker.RegisteredAuthenticator> authenticators = new Ranked<>();
    private final Ranked<Authorizer> authorizers = new Ranked<>();
    private final Ranked<MessageInterceptor> interceptors = new Ranked<>();
    private final Map<Long, ObserverQueue> observers = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final Ranked<RetainedStore> retainedStores = new Ranked<>();
    private final Map<Long, BoundSink> sinks = new java.util.concurrent.ConcurrentSkipListMap<>();

    @Activate
    void activate(Map<String, Object> props) {
        BrokerConfig cfg = parse(props, BrokerConfig.defaults());
        Broker b = new Broker(cfg);
        b.start();
        broker = b;
        apply();
        for (BoundSink s : sinks.values()) {
            bindSink(b, s);
        }
    }

    @Modified
    void modified(Map<String, Object> props) {
        BrokerConfig running = broker.config();
        BrokerConfig cfg = parse(props, running);
        if (cfg.ioThreads() != running.ioThreads() || cfg.nativeTransport() != running.nativeTransport()) {
            // read only when the engine starts: say so instead of silently ignoring the change
            LOG.warn("etc/io.brokkr.broker.cfg: io.threads / transport.native changed; they take effect when the broker "
                    + "restarts (bundle:restart io.brokkr.broker)");
        }
        if (!java.util.Objects.equals(cfg.journalDir(), running.journalDir())
                || !cfg.journalFsync().equals(running.journalFsync())
                || cfg.journalFsyncIntervalMs() != running.journalFsyncIntervalMs()
                || cfg.journalMaxBytes() != running.journalMaxBytes()) {
            // the journal keeps the settings it was opened with
            LOG.warn("etc/io.brokkr.broker.cfg: journal.dir / journal.fsync / journal.fsync.interval.ms / "
                    + "journal.max.bytes changed; they take effect when the broker restarts (bundle:restart "
                    + "io.brokkr.broker)");
        }
        broker.reconfigure(cfg);
    }

    @Deactivate
    void deactivate() {
        Broker b = broker;
        broker = null;
        if (b != null) {
            b.stop();
        }
    }

    /** A bad value keeps the value it had (the default when starting) and is logged with its key. */
    private static BrokerConfig parse(Map<String, Object> props, BrokerConfig current) {
        List<String> errors = new ArrayList<>();
        BrokerConfig cfg = BrokerConfig.fromProperties(props, current, errors);
        for (String error : errors) {
            LOG.error("etc/io.brokkr.broker.cfg: {}; keeping the current value of this key until it is fixed", error);
        }
        return cfg;
    }

    /** The engine, for the listener components of this bundle. */
    public Broker broker() {
        return broker;
    }

    // ---------------------------------------------------------------------------------------------- extensions

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindAuthenticator(Authenticator a, Map<String, Object> props) {
        authenticators.add(new Broker.RegisteredAuthenticator(a, props), props);
        apply();
    }

    void unbindAuthenticator(Authenticator a, Map<String, Object> props) {
        authenticators.remove(props);
        apply();
    }

    /** A changed service.ranking re-orders the chain at runtime (DS calls this for modified service properties). */
    void updatedAuthenticator(Authenticator a, Map<String, Object> props) {
        authenticators.remove(props);
        authenticators.add(new Broker.RegisteredAuthenticator(a, props), props);
        apply();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindAuthorizer(Authorizer a, Map<String, Object> props) {
        authorizers.add(a, props);
        apply();
    }

    void unbindAuthorizer(Authorizer a, Map<String, Object> props) {
        authorizers.remove(props);
        apply();
    }

    /** A changed service.ranking re-orders the chain at runtime (DS calls this for modified service properties). */
    void updatedAuthorizer(Authorizer a, Map<String, Object> props) {
        authorizers.remove(props);
        authorizers.add(a, props);
        apply();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindInterceptor(MessageInterceptor i, Map<String, Object> props) {
        interceptors.add(i, props);
        apply();
    }

    void unbindInterceptor(MessageInterceptor i, Map<String, Object> props) {
        interceptors.remove(props);
        apply();
    }

    /** A changed service.ranking re-orders the chain at runtime (DS calls this for modified service properties). */
    void updatedInterceptor(MessageInterceptor i, Map<String, Object> props) {
        interceptors.remove(props);
        interceptors.add(i, props);
        apply();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindObserver(MessageObserver o, Map<String, Object> props) {
        long id = (Long) props.get(Constants.SERVICE_ID);
        Object n = props.get(MessageObserver.NAME);
        String name = String.valueOf(n != null ? n : props.getOrDefault("component.name", o.getClass().getName()));
        try {
            ObserverQueue q = new ObserverQueue(name, o,
                    intValue(props.get(MessageObserver.QUEUE_SIZE), ObserverQueue.DEFAULT_CAPACITY),
                    ObserverQueue.parseTypes(props.get(MessageObserver.EVENTS)));
            observers.put(id, q);
        } catch (IllegalArgumentException e) {
            LOG.error("Observer {} ignored: {}", name, e.getMessage());
        }
        apply();
    }

    void unbindObserver(MessageObserver o, Map<String, Object> props) {
        ObserverQueue q = observers.remove((Long) props.get(Constants.SERVICE_ID));
        apply();
        if (q != null) {
            q.close(1000);
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindRetainedStore(RetainedStore s, Map<String, Object> props) {
        retainedStores.add(s, props);
        apply();
    }

    void unbindRetainedStore(RetainedStore s, Map<String, Object> props) {
        retainedStores.remove(props);
        apply();
    }

    /** A changed service.ranking re-orders the chain at runtime (DS calls this for modified service properties). */
    void updatedRetainedStore(RetainedStore s, Map<String, Object> props) {
        retainedStores.remove(props);
        retainedStores.add(s, props);
        apply();
    }

    /** A sink service as bound: its name (see {@link #sinkName}), the service and its properties. */
    private record BoundSink(String name, MessageSink sink, Map<String, Object> props) {
    }

    /**
     * A sink's stable name: {@code sink.name}, else its {@code service.pid} (for a factory configuration
     * {@code io.brokkr.connector.redis~NAME}), else its {@code component.name}.
     */
    static String sinkName(Map<String, Object> props) {
        for (String key : new String[] {MessageSink.NAME, Constants.SERVICE_PID, "component.name"}) {
            Object v = props.get(key);
            if (v instanceof String[] a && a.length > 0) {
                v = a[0];
            }
            if (v instanceof java.util.Collection<?> c && !c.isEmpty()) {
                v = c.iterator().next();
            }
            if (v != null && !v.toString().isBlank()) {
                return v.toString();
            }
        }
        return "sink-" + props.get(Constants.SERVICE_ID);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMessageSink(MessageSink sink, Map<String, Object> props) {
        BoundSink b = new BoundSink(sinkName(props), sink, Map.copyOf(props));
        sinks.put((Long) props.get(Constants.SERVICE_ID), b);
        Broker broker = this.broker;
        if (broker != null) {
            bindSink(broker, b);
        }
    }

    void updatedMessageSink(MessageSink sink, Map<String, Object> props) {
        bindMessageSink(sink, props); // same name: the sink continues with its new properties
    }

    void unbindMessageSink(MessageSink sink, Map<String, Object> props) {
        BoundSink b = sinks.remove((Long) props.get(Constants.SERVICE_ID));
        Broker broker = this.broker;
        if (b != null && broker != null) {
            broker.unbindSink(b.name(), sink);
        }
    }

    private static void bindSink(Broker broker, BoundSink b) {
        try {
            broker.bindSink(b.name(), b.sink(), b.props());
        } catch (IllegalArgumentException | IllegalStateException e) {
            LOG.error("Message sink {} not started: {}", b.name(), e.getMessage());
        }
    }

    private synchronized void apply() {
        Broker b = broker;
        if (b == null) {
            return;
        }
        b.setRegisteredAuthenticators(authenticators.list());
        b.setAuthorizers(authorizers.list());
        b.setInterceptors(interceptors.list());
        b.setObservers(new ArrayList<>(observers.values()));
        List<RetainedStore> stores = retainedStores.list();
        b.setRetainedStore(stores.isEmpty() ? null : stores.get(0));
    }

    private static int intValue(Object o, int def) {
        if (o == null) {
            return def;
        }
        try {
            return Integer.parseInt(o.toString().trim());
        } catch (NumberFormatException e) {
            return def;
        }
    }

    /** Services ordered by service.ranking (highest first), then service.id (oldest first). */
    private static final class Ranked<T> {
        private final ConcurrentSkipListMap<long[], T> byRank = new ConcurrentSkipListMap<>(
                Comparator.<long[]>comparingLong(k -> -k[0]).thenComparingLong(k -> k[1]));

        void add(T service, Map<String, Object> props) {
            byRank.put(key(props), service);
        }

        void remove(Map<String, Object> props) {
            long id = (Long) props.get(Constants.SERVICE_ID);
            byRank.keySet().removeIf(k -> k[1] == id);
        }

        List<T> list() {
            return new ArrayList<>(byRank.values());
        }

        private static long[] key(Map<String, Object> props) {
            Object r = props.get(Constants.SERVICE_RANKING);
            long rank = r instanceof Integer i ? i : 0;
            return new long[] {rank, (Long) props.get(Constants.SERVICE_ID)};
        }
    }

    // ---------------------------------------------------------------------------------------------- BrokerService

    @Override
    public List<ClientInfo> clients() {
        return broker.clients();
    }

    @Override
    public List<SessionInfo> sessions() {
        return broker.sessions();
    }

    @Override
    public List<SubscriptionInfo> subscriptions() {
        return broker.subscriptions();
    }

    @Override
    public List<Message> retained(String topicFilter) {
        return broker.retained(topicFilter);
    }

    @Override
    public List<ListenerInfo> listeners() {
        return broker.listeners();
    }

    @Override
    public BrokerStats stats() {
        return broker.stats();
    }

    @Override
    public int publish(Message message) {
        return broker.publish(message);
    }

    @Override
    public boolean kick(String clientId, boolean removeSession) {
        return broker.kick(clientId, removeSession);
    }

    @Override
    public List<io.brokkr.api.SinkInfo> sinks() {
        return broker.sinks();
    }

    @Override
    public io.brokkr.api.JournalInfo journal() {
        return broker.journal();
    }

    @Override
    public boolean setSinkRunning(String name, boolean running) {
        return broker.setSinkRunning(name, running);
    }

    @Override
    public java.util.List<io.brokkr.api.BanInfo> bans() {
        return broker.bans();
    }

    @Override
    public void ban(String addressOrNetwork, long seconds, String reason) {
        broker.ban(addressOrNetwork, seconds, reason);
    }

    @Override
    public boolean unban(String addressOrNetwork) {
        return broker.unban(addressOrNetwork);
    }

    @Override
    public boolean removeSink(String name) {
        return broker.removeSink(name);
    }

    @Override
    public List<io.brokkr.api.ObserverInfo> observers() {
        return broker.observers();
    }
}
