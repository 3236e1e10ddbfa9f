package io.brokkr.broker.engine;

import io.brokkr.api.BanInfo;
import io.brokkr.api.BrokerService;
import io.brokkr.api.BrokerStats;
import io.brokkr.api.ClientInfo;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.ListenerInfo;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.SessionInfo;
import io.brokkr.api.SubscriptionInfo;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.api.intercept.BrokerEvent;
import io.brokkr.api.intercept.MessageInterceptor;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.LdapFilter;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.config.ListenerOptions;
import io.brokkr.broker.config.QueueFullPolicy;
import io.brokkr.broker.config.Stats;
import io.brokkr.broker.persistence.RetainedStores;
import io.brokkr.broker.persistence.SinkHub;
import io.brokkr.broker.protocol.Codec;
import io.brokkr.broker.protocol.ConnectionHost;
import io.brokkr.broker.protocol.MqttConnection;
import io.brokkr.broker.routing.RouteResult;
import io.brokkr.broker.routing.Router;
import io.brokkr.broker.session.ClientChannel;
import io.brokkr.broker.session.Delivery;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.session.SessionHost;
import io.brokkr.broker.topic.Subscription;
import io.brokkr.broker.topic.SubscriptionTree;
import io.brokkr.broker.topic.Topics;
import io.brokkr.broker.transport.ConnectionGuard;
import io.brokkr.broker.transport.EpollSupport;
import io.brokkr.broker.transport.Listener;
import io.brokkr.broker.transport.ListenerHost;
import io.brokkr.broker.transport.PacketInspector;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SingleThreadEventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.EventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MQTT broker engine. Plain Java (no OSGi types), so it runs embedded in tests and benchmarks as well as inside
 * the DS components of this bundle.
 *
 * <p>Threading: Netty event loops do the I/O; each session is pinned to one of the same loops by its client id
 * when it is created ({@link #connect}) and all its state is touched only there. Routing a message matches the concurrent
 * subscription tree on the publisher's session loop and hands one task per target loop to the subscribers.
 */
public class Broker implements BrokerService, ListenerHost, SessionHost, ConnectionHost {

    private static final Logger LOG = LoggerFactory.getLogger(Broker.class);
    public static final String VERSION = readVersion();

    private volatile BrokerConfig config;
    final Stats stats = new Stats();
    private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
    /** Keyed by client id: the tree holds no session objects (a session's entries go before the session does). */
    private final SubscriptionTree<String, Subscription> tree = new SubscriptionTree<>();
    private final Map<String, Listener> listeners = new ConcurrentHashMap<>();
    /** The retained store; all retained writes go through it (see {@link RetainedStores} for store swaps). */
    final RetainedStores retainedStores = new RetainedStores();
    private volatile List<RegisteredAuthenticator> authenticators = List.of();
    private volatile List<Authorizer> authorizers = List.of();
    private volatile List<MessageInterceptor> interceptors = List.of();
    /** The sinks' journal and the sinks the broker knows; null while stopped or if its directory is unusable. */
    private volatile SinkHub sinkHub;
    /** Asynchronous observers; events are created only when the list is not empty. */
    private volatile List<ObserverQueue> observers = List.of();

    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private EventLoop[] loops;
    /** Routes messages to sessions (made at start, with the loops). */
    private Router router;
    private boolean epoll;
    private long startedAt;
    private ScheduledFuture<?> sysTask;
    /** One per event loop: each purges the sessions pinned to it (see {@link #housekeeping(EventLoop)}). */
    private final List<ScheduledFuture<?>> housekeeping = new ArrayList<>();
    private final Map<String, String> lastSys = new HashMap<>();

    private final ConnectionGuard guard;

    public Broker(BrokerConfig config) {
        this.config = config;
        this.guard = new ConnectionGuard(ConnectionGuard.Settings.of(config));
    }

    public BrokerConfig config() {
        return config;
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    public synchronized void start() {
        if (workerGroup != null) {
            return;
        }
        BrokerConfig c = config;
        int threads = c.ioThreads() > 0 ? c.ioThreads() : Runtime.getRuntime().availableProcessors();
        epoll = c.nativeTransport() && epollAvailable();
        if (epoll) {
            bossGroup = EpollSupport.group(1, new DefaultThreadFactory("brokkr-accept"));
            workerGroup = EpollSupport.group(threads, new DefaultThreadFactory("brokkr-io"));
        } else {
            bossGroup = new NioEventLoopGroup(1, new DefaultThreadFactory("brokkr-accept"));
            workerGroup = new NioEventLoopGroup(threads, new DefaultThreadFactory("brokkr-io"));
        }
        List<EventLoop> l = new ArrayList<>();
        for (EventExecutor e : workerGroup) {
            l.add((EventLoop) e);
        }
        loops = l.toArray(new EventLoop[0]);
        router = new Router(loops, stats, () -> config, sessions::get);
        startedAt = System.currentTimeMillis();
        java.nio.file.Path journalDir = SinkHub.resolveDir(c.journalDir());
        try {
            sinkHub = SinkHub.open(journalDir, c);
        } catch (java.io.IOException | RuntimeException e) {
            LOG.error("Sink journal {} cannot be opened, message sinks will not work: {}", journalDir, e.toString(), e);
        }
        scheduleSys();
        for (EventLoop loop : loops) {
            housekeeping.add(loop.scheduleAtFixedRate(() -> housekeeping(loop), 1, 1, TimeUnit.SECONDS));
        }
        LOG.info("Brokkr {} started: {} I/O threads, {} transport", VERSION, threads, epoll ? "epoll" : "nio");
    }

    private static boolean epollAvailable() {
        try {
            return EpollSupport.available();
        } catch (Throwable t) {
            return false; // io.netty.channel.epoll not wired (optional import)
        }
    }

    public synchronized void stop() {
        if (workerGroup == null) {
            return;
        }
        for (Listener l : new ArrayList<>(listeners.values())) {
            l.close();
        }
        listeners.clear();
        if (sysTask != null) {
            sysTask.cancel(false);
        }
        for (ScheduledFuture<?> f : housekeeping) {
            f.cancel(false);
        }
        housekeeping.clear();
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workerGroup = null;
        bossGroup = null;
        SinkHub hub = sinkHub;
        sinkHub = null;
        if (hub != null) {
            hub.close();
        }
        sessions.clear();
        LOG.info("Brokkr stopped");
    }

    /** Applies new tunables to the running broker (listeners and sessions stay up). */
    public synchronized void reconfigure(BrokerConfig newConfig) {
        BrokerConfig old = config;
        config = newConfig;
        guard.reconfigure(ConnectionGuard.Settings.of(newConfig));
        if (workerGroup != null && old.sysInterval() != newConfig.sysInterval()) {
            if (sysTask != null) {
                sysTask.cancel(false);
            }
            scheduleSys();
        }
        LOG.info("Broker configuration updated");
    }

    @Override
    public ConnectionGuard guard() {
        return guard;
    }

    @Override
    public List<BanInfo> bans() {
        return guard.bans().stream().map(b -> new BanInfo(b.address(), b.until(), b.reason())).toList();
    }

    @Override
    public void ban(String addressOrNetwork, long seconds, String reason) {
        if (seconds <= 0) {
            throw new IllegalArgumentException("seconds: " + seconds + " is not positive");
        }
        guard.ban(addressOrNetwork, java.time.Duration.ofSeconds(seconds), reason == null ? "banned by hand" : reason);
    }

    @Override
    public boolean unban(String addressOrNetwork) {
        return guard.unban(addressOrNetwork);
    }

    private void scheduleSys() {
        int interval = config.sysInterval();
        sysTask = interval <= 0 ? null
                : loops[0].scheduleAtFixedRate(this::publishSys, 0, interval, TimeUnit.SECONDS);
    }

    @Override
    public EventLoopGroup bossGroup() {
        return bossGroup;
    }

    @Override
    public EventLoopGroup workerGroup() {
        return workerGroup;
    }

    @Override
    public Class<? extends ServerChannel> serverChannelClass() {
        return epoll ? EpollSupport.serverChannel() : NioServerSocketChannel.class;
    }

    @Override
    public Stats counters() {
        return stats;
    }

    @Override
    public RetainedStore retainedStore() {
        return retainedStores.current();
    }

    @Override
    public void removeRetained(String topic) {
        retainedStores.remove(topic);
    }

    @Override
    public int publishPacketSize(String topic, int qos, boolean v5, MessageProperties mp, Long remainingExpiry,
                                 int[] subscriptionIds, int topicAlias, int payloadLength) {
        return Codec.publishPacketSize(topic, qos, v5, mp, remainingExpiry, subscriptionIds, topicAlias,
                payloadLength);
    }

    @Override
    public void addMqttHandlers(ChannelPipeline p, Listener listener) {
        MqttConnection.addHandlers(p, this, listener);
    }

    @Override
    public Listener listenerOf(Channel ch) {
        MqttConnection c = ch.pipeline().get(MqttConnection.class);
        return c == null ? null : c.listener();
    }

    @Override
    public ChannelFuture shutdown(Channel ch) {
        MqttConnection c = ch.pipeline().get(MqttConnection.class);
        return c != null ? c.shutdown() : ch.close();
    }

    // ------------------------------------------------------------------------------------------------ listeners

    /** Opens (binds) a listener. Throws IllegalStateException with the reason if it cannot bind. */
    public Listener openListener(ListenerConfig lc) {
        if (workerGroup == null) {
            throw new IllegalStateException("broker not started");
        }
        Listener l = new Listener(this, lc);
        Listener prev = listeners.putIfAbsent(lc.name(), l);
        if (prev != null) {
            throw new IllegalStateException("listener " + lc.name() + " already exists");
        }
        try {
            l.bind();
        } catch (RuntimeException e) {
            // keep it registered (unbound) so operators see the error in mqtt:listeners
        }
        return l;
    }

    /**
     * Registers listener {@code name} whose cfg file cannot be used (a key that does not parse): it is listed unbound
     * with {@code reason} until {@link #updateListener} gets a cfg that works.
     */
    public Listener openInvalidListener(String name, String type, String reason) {
        if (workerGroup == null) {
            throw new IllegalStateException("broker not started");
        }
        Listener l = new Listener(this, new ListenerConfig(name, type, null, 0));
        l.invalid(reason);
        Listener prev = listeners.putIfAbsent(name, l);
        if (prev != null) {
            prev.invalid(reason);
            l = prev;
        }
        try {
            l.bind(); // refuses, recording the reason as the listener's error
        } catch (RuntimeException expected) {
            // listed unbound
        }
        return l;
    }

    /** Rebinds a listener on a new address, or opens it if it does not exist. */
    public Listener updateListener(ListenerConfig lc) {
        Listener l = listeners.get(lc.name());
        if (l == null) {
            return openListener(lc);
        }
        try {
            l.reconfigure(lc);
        } catch (RuntimeException e) {
            // error kept on the listener
        }
        return l;
    }

    public void closeListener(String name) {
        Listener l = listeners.remove(name);
        if (l != null) {
            l.close();
        }
    }

    public Listener listener(String name) {
        return listeners.get(name);
    }

    // ------------------------------------------------------------------------------------------------ extensions

    /** Replaces the authenticator chain (in the order given), each without service properties. */
    public void setAuthenticators(List<Authenticator> list) {
        setRegisteredAuthenticators(list.stream().map(a -> new RegisteredAuthenticator(a, Map.of())).toList());
    }

    /**
     * An authenticator with the service properties it was registered with, which a listener's {@code auth.filter}
     * selects on.
     */
    public record RegisteredAuthenticator(Authenticator authenticator, Map<String, Object> properties) {
        public RegisteredAuthenticator {
            java.util.Objects.requireNonNull(authenticator, "authenticator");
            properties = properties == null ? Map.of() : Map.copyOf(properties);
        }
    }

    /** Replaces the authenticator chain (in the order given: ranking order). */
    public void setRegisteredAuthenticators(List<RegisteredAuthenticator> list) {
        authenticators = List.copyOf(list);
    }

    public void setAuthorizers(List<Authorizer> list) {
        authorizers = List.copyOf(list);
    }

    public void setInterceptors(List<MessageInterceptor> list) {
        interceptors = List.copyOf(list);
    }

    /**
     * Replaces the retained store (null restores the in-memory one). The new store gets the current store's
     * messages and the deletions made since the broker started; writes made during the copy are not lost; the
     * in-memory store is made equal to the outgoing one before it takes over again (see {@link RetainedStores}).
     */
    public void setRetainedStore(RetainedStore store) {
        retainedStores.swap(store);
    }

    /**
     * Replaces the observers. Queues that are no longer in the list are closed by the caller (it created them).
     */
    public void setObservers(List<ObserverQueue> list) {
        observers = List.copyOf(list);
    }

    @Override
    public List<io.brokkr.api.ObserverInfo> observers() {
        List<io.brokkr.api.ObserverInfo> out = new ArrayList<>();
        for (ObserverQueue q : observers) {
            out.add(q.info());
        }
        return out;
    }

    /** Gives an event to every observer (their queues never block). */
    private void observe(BrokerEvent e) {
        for (ObserverQueue q : observers) {
            q.offer(e);
        }
    }

    /** True if some observer wants events of this type (so that the event is worth creating). */
    private boolean observed(BrokerEvent.Type type) {
        List<ObserverQueue> list = observers;
        if (list.isEmpty()) {
            return false;
        }
        for (ObserverQueue q : list) {
            if (q.wants(type)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A message sink service registered, or its properties changed: the broker journals the messages it matches and
     * feeds it from its position (see {@link SinkHub}).
     *
     * @throws IllegalArgumentException for a bad property (the message names it)
     * @throws IllegalStateException if the journal is not available
     */
    public void bindSink(String name, io.brokkr.api.storage.MessageSink sink, Map<String, ?> props) {
        SinkHub hub = sinkHub;
        if (hub == null) {
            throw new IllegalStateException("the sink journal is not available (see the log at broker start)");
        }
        try {
            hub.bind(name, sink, props);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the sink journal cannot be written: " + e, e);
        }
    }

    /** A message sink service went away: its messages wait for it in the journal. */
    public void unbindSink(String name, io.brokkr.api.storage.MessageSink sink) {
        SinkHub hub = sinkHub;
        if (hub != null) {
            hub.unbind(name, sink);
        }
    }

    /** The sinks' hub, or null (stopped, or the journal could not be opened). */
    public SinkHub sinkHub() {
        return sinkHub;
    }

    @Override
    public List<io.brokkr.api.SinkInfo> sinks() {
        SinkHub hub = sinkHub;
        return hub == null ? List.of() : hub.infos();
    }

    @Override
    public io.brokkr.api.JournalInfo journal() {
        SinkHub hub = sinkHub;
        return hub == null ? null : hub.journalInfo();
    }

    @Override
    public boolean setSinkRunning(String name, boolean running) {
        SinkHub hub = sinkHub;
        return hub != null && hub.setRunning(name, running);
    }

    @Override
    public boolean removeSink(String name) {
        SinkHub hub = sinkHub;
        return hub != null && hub.remove(name);
    }

    // ------------------------------------------------------------------------------------------------ sessions

    private int indexOf(EventLoop loop) {
        for (int i = 0; i < loops.length; i++) {
            if (loops[i] == loop) {
                return i;
            }
        }
        throw new IllegalStateException("event loop not of this broker");
    }

    /**
     * Completes a CONNECT after authentication. A new session is created on the connection's own event loop; an
     * existing session keeps its loop and the connection's channel moves there, so that a client's packets and its
     * session state always share one thread. Runs on the connection's loop.
     */
    @Override
    public void connect(Client conn, ConnectParams p) {
        String id = conn.clientId();
        Session s = sessions.get(id);
        if (s == null) {
            EventLoop loop = conn.channel().eventLoop();
            Session created = new Session(this, id, loop, indexOf(loop));
            s = sessions.putIfAbsent(id, created);
            if (s == null) {
                s = created;
            }
        }
        Session target = s;
        if (target.loop == conn.channel().eventLoop()) {
            if (target.loop.inEventLoop()) {
                attach(target, conn, p);
            } else {
                target.loop.execute(() -> attach(target, conn, p));
            }
        } else {
            stats.connectionsMoved.increment();
            conn.moveTo(target.loop, () -> attach(target, conn, p));
        }
    }

    /** How many times back-pressure paused a publishing connection since start (see {@link QueueFullPolicy}). */
    public long publishersPaused() {
        return stats.publishersPaused.sum();
    }

    /**
     * How many of those pauses the safety net ended: no target of the publisher's messages caught up, and the one
     * that began the pause made no progress for {@code THROTTLE_MAX_MILLIS} (500 ms) or the pause reached its
     * longest ({@code THROTTLE_LONGEST_MILLIS}, 5 s, at most half the publisher's keep alive).
     */
    public long publisherPausesCapped() {
        return stats.publisherPausesCapped.sum();
    }

    /**
     * How many times a pause went on for another {@code THROTTLE_MAX_MILLIS} because the target that began it,
     * slow but not stuck, had made progress in the last one.
     */
    public long publisherPausesExtended() {
        return stats.publisherPausesExtended.sum();
    }

    /** The session of a client id, or null (tests). */
    @Override
    public Session session(String clientId) {
        return sessions.get(clientId);
    }

    /** Runs on the session's loop. */
    private void attach(Session s, Client conn, ConnectParams p) {
        String id = conn.clientId();
        if (!conn.channel().isActive()) {
            // the client went away during authentication; drop a session created just for it
            if (!s.everAttached && sessions.remove(id, s)) {
                s.ended = true;
            }
            return;
        }
        if (s.ended || sessions.get(id) != s) {
            connect(conn, p); // the session ended meanwhile: look up again
            return;
        }
        boolean present = false;
        boolean oldSessionEnds = false;
        ClientChannel old = s.connection;
        if (old != null) {
            LOG.info("Client {}: new connection from {} takes over the session from {}", id, conn.remote(),
                    old.remote());
            Message oldWill = s.will();
            ConnectionContext oldWillClient = s.willClient();
            long oldDelay = s.willDelay();
            // a session with expiry 0 (3.1.1 clean session) lasts as long as its network connection: it ends here
            // and is never resumed by the new connection [MQTT-3.1.2-6] (3.1.1), [MQTT-3.1.2-23] (5)
            oldSessionEnds = s.expiryInterval == 0;
            s.takeOver();
            old.takenOver();
            if (old.release()) {
                stats.clientDisconnected();
                fireDisconnect(old.context(), false);
            } // else its close came first: the detach it queued on this loop reports it
            if (oldWill != null && (oldDelay == 0 || p.cleanStart() || oldSessionEnds)) {
                publishWill(oldWill, oldWillClient);
            }
        }
        if (s.everAttached) {
            if (p.cleanStart() || oldSessionEnds) {
                endSession(s);
                connect(conn, p); // a fresh session, on this connection's loop
                return;
            }
            present = true;
        }
        if (!conn.link(s)) {
            // closed since the check above: as if it had come and gone at once (a pending delayed will is cancelled
            // as on any reconnect), without a will of its own and without connect/disconnect events
            LOG.debug("Client {} closed its connection while connecting", id);
            if (!s.everAttached) {
                if (sessions.remove(id, s)) {
                    s.ended = true;
                }
            } else {
                s.attach(conn, p.sessionExpiry(), null, 0);
                s.detach(conn, false);
            }
            return;
        }
        s.everAttached = true;
        s.attach(conn, p.sessionExpiry(), p.will(), p.willDelay());
        stats.clientConnected();
        conn.connected(s, present, p);
        s.resume();
        if (LOG.isDebugEnabled()) { // remote() builds a string: not on every connection when nobody logs it
            LOG.debug("Client {} connected from {} ({}), session present {}", id, conn.remote(),
                    conn.protocolVersion().label(), present);
        }
        ConnectionContext ctx = conn.context();
        notifyInterceptors("onConnect", i -> i.onConnect(ctx));
        if (observed(BrokerEvent.Type.CONNECTED)) {
            observe(BrokerEvent.connected(ctx));
        }
    }

    /**
     * Runs on the session loop: an attached connection closed. Called once per such connection, and only if no
     * takeover reported its end first ({@link MqttConnection#release}); the session is detached unless a takeover
     * detached it already.
     */
    @Override
    public void detach(Session s, ClientChannel conn, boolean sendWill, ConnectionContext ctx, boolean graceful) {
        stats.clientDisconnected();
        if (s.connection == conn) {
            s.detach(conn, sendWill);
        }
        fireDisconnect(ctx, graceful);
    }

    private void fireDisconnect(ConnectionContext ctx, boolean graceful) {
        if (ctx == null) {
            return;
        }
        notifyInterceptors("onDisconnect", i -> i.onDisconnect(ctx, graceful));
        if (observed(BrokerEvent.Type.DISCONNECTED)) {
            observe(BrokerEvent.disconnected(ctx, graceful));
        }
    }

    /**
     * Calls every interceptor in ranking order for an event it cannot change; an exception is logged with the
     * interceptor and the event, and the next one is called.
     */
    private void notifyInterceptors(String event, java.util.function.Consumer<MessageInterceptor> call) {
        for (MessageInterceptor i : interceptors) {
            try {
                call.accept(i);
            } catch (RuntimeException e) {
                LOG.warn("Interceptor {} failed in {}: {}", i, event, e.toString(), e);
            }
        }
    }

    /**
     * Runs on the session loop: removes the session and its subscriptions. Messages it held for shared
     * subscriptions (queued, or sent at QoS 1 and not acknowledged) go to other members of their groups; QoS 2
     * messages sent to it do not [MQTT-4.8.2-5].
     */
    @Override
    public void endSession(Session s) {
        for (Subscription sub : s.subscriptions.values()) {
            tree.unsubscribe(sub.shareGroup(), sub.filter(), s.clientId);
        }
        s.clearSubscriptions();
        sessions.remove(s.clientId, s);
        List<Delivery> orphans = s.takeShared(null, true);
        s.end();
        for (Delivery d : orphans) {
            redispatchShared(d);
        }
    }

    /** A message is handed from one member of a share group to another at most this often, then dropped. */
    static final int MAX_SHARED_HOPS = 16;

    /**
     * Hands a message that was chosen for a member of a shared subscription group which can no longer take it (its
     * session ended, or it unsubscribed) to another member, chosen as for a new message. The departing member is
     * out of the subscription tree already, so it is not chosen again. Dropped (and counted) if the group has no
     * members left. Any thread: the delivery is handed to the chosen session's loop as a task.
     */
    @Override
    public void redispatchShared(Delivery d) {
        Subscription from = d.shared();
        Message m = d.message();
        if (m.isExpired(System.currentTimeMillis())) {
            return;
        }
        SubscriptionTree.SharedGroup<String, Subscription> g = d.hops() < MAX_SHARED_HOPS
                ? tree.sharedGroup(from.shareGroup(), from.filter()) : null;
        if (g == null) {
            stats.publishDropped.increment();
            LOG.debug("No member left in $share/{}/{}: dropping message on '{}'", from.shareGroup(), from.filter(),
                    m.topic());
            return;
        }
        Router.Member chosen = g == null ? null : router.chooseMember(g);
        if (chosen == null) {
            stats.publishDropped.increment();
            return;
        }
        Session s = chosen.session();
        Subscription sub = chosen.subscription();
        Delivery next = new Delivery(m, Math.min(m.qos(), sub.qos()), sub.retainAsPublished() && m.retain(),
                sub.subscriptionId() == 0 ? Delivery.NO_IDS : new int[] {sub.subscriptionId()}, sub, d.hops() + 1);
        try {
            s.deliverFromOtherLoop(next);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            stats.publishDropped.increment(); // broker stopping
        }
    }


    /**
     * Publishes a will as a message of the client that set it: interceptors get the {@link ConnectionContext} of the
     * connection that set it. It was authorized when the client connected (a will the {@link Authorizer}s refuse
     * refuses the CONNECT).
     */
    @Override
    public void publishWill(Message will, ConnectionContext client) {
        LOG.debug("Publishing will of {} on '{}'", will.publisherId(), will.topic());
        publish(client, new Message(will.topic(), will.payload(), will.qos(), will.retain(), will.properties(),
                will.publisherId(), System.currentTimeMillis()));
    }

    // ------------------------------------------------------------------------------------------------ subscribe

    /** Runs on the session loop. */
    @Override
    public SubscribeResult subscribe(Session s, Client conn, List<SubscribeRequest> subs, int subId) {
        boolean v5 = conn.isV5();
        BrokerConfig cfg = config;
        List<Integer> codes = new ArrayList<>(subs.size());
        Subscription[] granted = new Subscription[subs.size()];
        boolean[] isNew = new boolean[subs.size()];
        for (int i = 0; i < subs.size(); i++) {
            SubscribeRequest t = subs.get(i);
            String full = t.filter();
            String err = Topics.validateTopicFilter(full);
            if (err != null) {
                LOG.info("Client {}: invalid topic filter '{}': {}", s.clientId, full, err);
                codes.add(v5 ? MqttConnection.RC_TOPIC_FILTER_INVALID : 0x80);
                continue;
            }
            Topics.SharedFilter shared = Topics.parseShared(full);
            String group = shared == null ? null : shared.group();
            String filter = shared == null ? full : shared.filter();
            int qos = Math.min(t.qos(), cfg.maxQos());
            if (!authorizeSubscribe(conn.context(), full, qos)) {
                LOG.info("Client {}: not authorized to subscribe to '{}'", s.clientId, full);
                codes.add(v5 ? MqttConnection.RC_NOT_AUTHORIZED : 0x80);
                continue;
            }
            Subscription sub = v5
                    ? new Subscription(group, filter, qos, t.noLocal(), t.retainAsPublished(), t.retainHandling(), subId)
                    : new Subscription(group, filter, qos, false, false, 0, 0);
            Subscription prev = s.putSubscription(full, sub);
            tree.subscribe(group, filter, s.clientId, sub);
            granted[i] = sub;
            isNew[i] = prev == null;
            codes.add(qos);
            if (!interceptors.isEmpty()) {
                SubscriptionInfo info = sub.info(s.clientId);
                notifyInterceptors("onSubscribe", ic -> ic.onSubscribe(conn.context(), info));
            }
            if (observed(BrokerEvent.Type.SUBSCRIBED)) {
                observe(BrokerEvent.subscribed(conn.context(), full, qos));
            }
        }
        return new SubscribeResult(codes, granted, isNew);
    }

    /**
     * Runs on the session loop, after SUBACK: sends retained messages per Retain Handling, paced by the session
     * ({@link Session#sendRetained}).
     */
    @Override
    public void sendRetainedAfterSubscribe(Session s, SubscribeResult r) {
        for (int i = 0; i < r.granted().length; i++) {
            Subscription sub = r.granted()[i];
            if (sub == null || sub.shareGroup() != null) {
                continue; // retained messages are not sent for shared subscriptions [MQTT-3.8.4-?]
            }
            if (sub.retainHandling() == 2 || (sub.retainHandling() == 1 && !r.isNew()[i])) {
                continue;
            }
            s.sendRetained(sub, retainedStores.current().match(sub.filter()));
        }
    }

    /** Runs on the session loop. */
    @Override
    public boolean unsubscribe(Session s, String full) {
        Subscription prev = s.removeSubscription(full);
        if (prev != null) {
            tree.unsubscribe(prev.shareGroup(), prev.filter(), s.clientId);
            if (prev.shareGroup() == null) {
                s.dropRetained(prev.filter()); // retained messages not sent yet are not wanted any more
            }
            if (prev.shareGroup() != null) {
                // queued messages of the group go to the other members; those sent already stay with this client
                for (Delivery d : s.takeShared(prev, false)) {
                    redispatchShared(d);
                }
            }
            ClientChannel c = s.connection;
            ConnectionContext ctx = c == null ? null : c.context();
            if (!interceptors.isEmpty()) {
                notifyInterceptors("onUnsubscribe", ic -> ic.onUnsubscribe(ctx, full));
            }
            if (observed(BrokerEvent.Type.UNSUBSCRIBED)) {
                observe(BrokerEvent.unsubscribed(ctx, full));
            }
        }
        return prev != null;
    }

    // ------------------------------------------------------------------------------------------------ routing

    /**
     * Publishes a message: interceptors, retained store, then routing.
     *
     * @param publisher the publishing client, or null for broker-originated messages
     * @return what routing came to (complete at once when every target is on this thread's loop)
     */
    RouteResult publish(ConnectionContext publisher, Message message) {
        return publish(publisher, message, null);
    }

    /**
     * As {@link #publish(ConnectionContext, Message)}; {@code from} is the publishing connection, throttled (reads
     * paused) while the message cannot make progress anywhere: every online target is congested (see {@link Router}).
     */
    @Override
    public RouteResult publish(ConnectionContext publisher, Message message, Client from) {
        Message m = message;
        for (MessageInterceptor i : interceptors) {
            try {
                m = i.onMessageReceived(publisher, m);
            } catch (RuntimeException e) {
                LOG.warn("Interceptor {} failed in onMessageReceived: {}", i, e.toString(), e);
            }
            if (m == null) {
                return RouteResult.NO_TARGETS;
            }
        }
        if (observed(BrokerEvent.Type.MESSAGE_RECEIVED)) {
            observe(BrokerEvent.received(publisher, m));
        }
        if (m.retain()) {
            if (m.payload().length == 0) {
                retainedStores.remove(m.topic());
            } else {
                retainedStores.put(m);
            }
        }
        SinkHub hub = sinkHub;
        if (hub != null && m.qos() > 0) {
            // acknowledged once it is journalled for the sinks; refused with 0x97 when the journal is full. The
            // journal's writer reports to the result itself (no future per message)
            // on the publisher's loop: one hand-off to the journal a pass, the acknowledgements back in one task
            SinkHub.LoopBatch batch = journalBatchOfThisPass(from, hub);
            RouteResult journaled = hub.append(m, publisher == null ? null : publisher.username(),
                    RouteResult::awaitingJournal, batch); // null, and nothing made, when no sink takes it
            if (journaled != null) {
                return journaled.afterRouting(route(m, from));
            }
        } else if (hub != null) {
            hub.append(m, publisher == null ? null : publisher.username());
        }
        return route(m, from);
    }

    /**
     * On a publisher's event loop: the loop's batch of journal records for this pass, handed to the journal's writer
     * once at the end of the pass (a Netty tail task) for every message of the pass, instead of once per message:
     * each hand-off took contended atomic updates and a queue insertion, and waking the parked writer a system call
     * (together the largest cost of journalling on the event loops, by JFR, QoS 1 publishers at full speed with a
     * sink). The records wait at most until the pass ends, i.e. until the loop has read what its sockets had.
     *
     * @return the loop's batch, or null if not on a loop (append alone)
     */
    private static SinkHub.LoopBatch journalBatchOfThisPass(Client from, SinkHub hub) {
        if (from == null) {
            return null;
        }
        EventLoop loop = from.channel().eventLoop();
        if (!(loop instanceof SingleThreadEventLoop tailed) || !loop.inEventLoop()) {
            return null;
        }
        JournalPass w = JOURNAL_PASSES.get();
        if (w.loop != loop) { // the first pass of this thread (or, in tests, another loop object on it)
            w.submit();
            w.loop = loop;
            // the journal's completions for this loop's messages run there in one task per written batch, and the
            // acknowledgements they make ready are written after them, once per connection
            w.batch = SinkHub.loopBatch(r -> loop.execute(() -> MqttConnection.runCollectingAcks(r)));
        }
        if (!w.queued) {
            try {
                tailed.executeAfterEventLoopIteration(w);
            } catch (RejectedExecutionException e) {
                return null; // the loop is shutting down
            }
            w.queued = true;
        }
        return w.batch;
    }

    /** Each I/O thread's batch of journal records (see journalBatchOfThisPass). */
    private static final FastThreadLocal<JournalPass> JOURNAL_PASSES = new FastThreadLocal<>() {
        @Override
        protected JournalPass initialValue() {
            return new JournalPass();
        }
    };

    /** Netty tail task: submits the pass's journal records; queued by the first one of a pass. */
    private static final class JournalPass implements Runnable {
        EventLoop loop;
        SinkHub.LoopBatch batch;
        boolean queued;

        @Override
        public void run() {
            queued = false;
            submit();
        }

        void submit() {
            if (batch != null) {
                batch.submit();
            }
        }
    }

    private RouteResult route(Message m, Client from) {
        Router.Routing r = router.routing(m);
        tree.match(m.topic(), r);
        RouteResult result = r.dispatch();
        Session c = r.throttleFor();
        if (c != null && from != null && from.throttle(c)) {
            Session[] also = r.alsoThrottleFor();
            for (int i = 0, n = r.alsoThrottleForCount(); i < n; i++) {
                if (!from.throttle(also[i])) {
                    // it caught up meanwhile and reading went on: waiting for the next one would pause the
                    // publisher again, for that one alone
                    break;
                }
            }
        }
        return result;
    }


    @Override
    public void delivered(ConnectionContext subscriber, Message m, int qos, int packetId) {
        if (!interceptors.isEmpty()) { // no lambda on the hot path without interceptors
            notifyInterceptors("onMessageDelivered", i -> i.onMessageDelivered(subscriber, m));
        }
        if (observed(BrokerEvent.Type.MESSAGE_SENT)) {
            observe(BrokerEvent.sent(subscriber, qos == m.qos() ? m : m.withQos(qos), senderUsername(m), packetId));
        }
    }

    /**
     * The user name of a message's publisher, read from its session's current connection (null if it is offline or
     * anonymous). For observers; a benign racy read of another loop's session.
     */
    private String senderUsername(Message m) {
        if (m.publisherId() == null) {
            return null;
        }
        Session s = sessions.get(m.publisherId());
        ClientChannel c = s == null ? null : s.connection;
        return c == null ? null : c.context().username();
    }

    // ------------------------------------------------------------------------------------------------ auth

    @Override
    public CompletableFuture<AuthenticationResult> authenticate(ConnectionContext ctx, AuthenticationRequest req,
                                                                boolean certified) {
        Listener l = listeners.get(ctx.listenerName());
        ListenerOptions o = l == null ? null : l.options();
        List<RegisteredAuthenticator> all = authenticators;
        LdapFilter filter = o == null ? null : o.authFilter(); // null: all of them
        List<Authenticator> chain = new ArrayList<>(all.size());
        for (RegisteredAuthenticator a : all) {
            if (filter == null || filter.matches(a.properties())) {
                chain.add(a.authenticator());
            }
        }
        boolean anonymous = o == null || o.allowAnonymous() == null ? config.allowAnonymous() : o.allowAnonymous();
        // a client whose verified certificate gave its identity (identity.from.certificate) counts as authenticated
        return authStep(chain, 0, ctx, req, anonymous || certified);
    }

    /**
     * Asks the authenticators in turn; when none decided, {@code anonymous} (the listener's {@code allow.anonymous},
     * else the broker's) allows or refuses.
     */
    private CompletableFuture<AuthenticationResult> authStep(List<Authenticator> list, int i, ConnectionContext ctx,
                                                             AuthenticationRequest req, boolean anonymous) {
        if (i >= list.size()) {
            if (anonymous) {
                return CompletableFuture.completedFuture(AuthenticationResult.allow());
            }
            return CompletableFuture.completedFuture(ctx.username() == null
                    ? AuthenticationResult.deny(AuthenticationResult.NOT_AUTHORIZED,
                    "anonymous access disabled (allow.anonymous=false)")
                    : AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD,
                    "bad user name or password"));
        }
        CompletableFuture<AuthenticationResult> f;
        try {
            f = list.get(i).authenticate(ctx, req).toCompletableFuture();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.thenCompose(r -> r == null || r.decision() == AuthenticationResult.Decision.NEXT
                ? authStep(list, i + 1, ctx, req, anonymous) : CompletableFuture.completedFuture(r));
    }

    @Override
    public boolean authorizePublish(ConnectionContext client, String topic, int qos, boolean retain) {
        return authorizers.isEmpty() || authorize(a -> a.authorizePublish(client, topic, qos, retain));
    }

    /**
     * The authorizers decide first; when none does (all answer NEXT, or there are none), a filter that can match a
     * {@code $SYS} topic needs the role {@link BrokerConfig#sysTopicsRole()} (cfg {@code sys.topics.role}), every
     * other filter is allowed. So an authorizer's ALLOW (an ACL file granting {@code $SYS/#}) opens {@code $SYS}
     * to a client without the role.
     */
    boolean authorizeSubscribe(ConnectionContext client, String filter, int qos) {
        Authorizer.Decision d = authorizers.isEmpty() ? Authorizer.Decision.NEXT
                : decide(a -> a.authorizeSubscribe(client, filter, qos));
        if (d != Authorizer.Decision.NEXT) {
            return d == Authorizer.Decision.ALLOW;
        }
        String role = config.sysTopicsRole();
        return role.isEmpty() || !canMatchSys(filter) || client.hasRole(role);
    }

    /**
     * Whether a (valid) filter, also a shared one, can match a topic under {@code $SYS}: only one whose first level
     * is {@code $SYS}, as {@code #} and {@code +} in the first level never match a topic starting with {@code $}
     * [MQTT-4.7.2-1].
     */
    static boolean canMatchSys(String filter) {
        Topics.SharedFilter shared = Topics.parseShared(filter);
        String f = shared == null ? filter : shared.filter();
        return f.equals("$SYS") || f.startsWith("$SYS/");
    }

    /**
     * Asks the authorizers in ranking order; the first decision other than NEXT wins, none allows. An authorizer
     * that throws denies.
     */
    private boolean authorize(java.util.function.Function<Authorizer, Authorizer.Decision> ask) {
        return decide(ask) != Authorizer.Decision.DENY;
    }

    /** The first decision other than NEXT of the authorizers in ranking order, else NEXT; one that throws: DENY. */
    private Authorizer.Decision decide(java.util.function.Function<Authorizer, Authorizer.Decision> ask) {
        for (Authorizer a : authorizers) {
            try {
                Authorizer.Decision d = ask.apply(a);
                if (d != null && d != Authorizer.Decision.NEXT) {
                    return d;
                }
            } catch (RuntimeException e) {
                LOG.warn("Authorizer {} failed: {}; denying", a, e.toString(), e);
                return Authorizer.Decision.DENY;
            }
        }
        return Authorizer.Decision.NEXT;
    }

    // ------------------------------------------------------------------------------------------------ $SYS

    private void publishSys() {
        try {
            BrokerStats st = stats();
            Map<String, String> v = new java.util.LinkedHashMap<>();
            v.put("$SYS/broker/version", "brokkr version " + VERSION);
            v.put("$SYS/broker/uptime", st.uptimeSeconds() + " seconds");
            v.put("$SYS/broker/clients/connected", String.valueOf(st.clientsConnected()));
            v.put("$SYS/broker/clients/active", String.valueOf(st.clientsConnected()));
            v.put("$SYS/broker/clients/disconnected", String.valueOf(st.clientsDisconnected()));
            v.put("$SYS/broker/clients/inactive", String.valueOf(st.clientsDisconnected()));
            v.put("$SYS/broker/clients/total", String.valueOf(st.clientsConnected() + st.clientsDisconnected()));
            v.put("$SYS/broker/clients/maximum", String.valueOf(st.clientsMaximum()));
            v.put("$SYS/broker/messages/received", String.valueOf(st.messagesReceived()));
            v.put("$SYS/broker/messages/sent", String.valueOf(st.messagesSent()));
            v.put("$SYS/broker/messages/stored", String.valueOf(st.storedMessages()));
            v.put("$SYS/broker/store/messages/count", String.valueOf(st.storedMessages()));
            v.put("$SYS/broker/publish/messages/received", String.valueOf(st.publishReceived()));
            v.put("$SYS/broker/publish/messages/sent", String.valueOf(st.publishSent()));
            v.put("$SYS/broker/publish/messages/dropped", String.valueOf(st.messagesDropped()));
            v.put("$SYS/broker/bytes/received", String.valueOf(st.bytesReceived()));
            v.put("$SYS/broker/bytes/sent", String.valueOf(st.bytesSent()));
            v.put("$SYS/broker/subscriptions/count", String.valueOf(st.subscriptions()));
            v.put("$SYS/broker/retained messages/count", String.valueOf(st.retainedMessages()));
            v.put("$SYS/broker/publish/pauses", String.valueOf(st.publisherPauses()));
            v.put("$SYS/broker/publish/pauses/extended", String.valueOf(st.publisherPausesExtended()));
            v.put("$SYS/broker/publish/pauses/capped", String.valueOf(st.publisherPausesCapped()));
            for (Map.Entry<String, String> e : v.entrySet()) {
                if (!e.getValue().equals(lastSys.get(e.getKey()))) {
                    lastSys.put(e.getKey(), e.getValue());
                    Message m = Message.of(e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8), 0, true);
                    retainedStores.put(m);
                    route(m, null);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("$SYS update failed: {}", e.toString(), e);
        }
    }

    /**
     * Runs on {@code loop} every second: removes expired messages from the queues of the offline sessions pinned
     * to that loop. Each loop looks only at its own sessions, whose state it owns.
     */
    private void housekeeping(EventLoop loop) {
        long now = System.currentTimeMillis();
        for (Session s : sessions.values()) {
            if (s.loop == loop && !s.online && !s.queue.isEmpty()) {
                s.purgeExpired(now);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ BrokerService

    @Override
    public List<ClientInfo> clients() {
        List<ClientInfo> out = new ArrayList<>();
        for (Session s : sessions.values()) {
            ClientChannel c = s.connection;
            if (c != null && c.info() != null) {
                out.add(c.info());
            }
        }
        out.sort((a, b) -> a.clientId().compareTo(b.clientId()));
        return out;
    }

    @Override
    public List<SessionInfo> sessions() {
        EventLoop[] ls = loops;
        if (ls == null) {
            return List.of();
        }
        // each session's state is read on its own loop: one task per loop for that loop's sessions
        List<List<Session>> byLoop = new ArrayList<>();
        for (int i = 0; i < ls.length; i++) {
            byLoop.add(new ArrayList<>());
        }
        for (Session s : sessions.values()) {
            byLoop.get(s.loopIndex).add(s);
        }
        List<SessionInfo> out = new ArrayList<>();
        List<Future<List<SessionInfo>>> asked = new ArrayList<>();
        for (int i = 0; i < ls.length; i++) {
            List<Session> mine = byLoop.get(i);
            if (mine.isEmpty()) {
                continue;
            }
            if (ls[i].inEventLoop()) {
                out.addAll(snapshots(mine));
            } else {
                try {
                    asked.add(ls[i].submit(() -> snapshots(mine)));
                } catch (RejectedExecutionException e) {
                    // the loop has shut down with the broker: its sessions are gone
                }
            }
        }
        long deadline = System.nanoTime() + SNAPSHOT_WAIT_NANOS;
        for (Future<List<SessionInfo>> f : asked) {
            try {
                out.addAll(f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                LOG.warn("Sessions: an event loop did not answer within {} s, its sessions are left out",
                        TimeUnit.NANOSECONDS.toSeconds(SNAPSHOT_WAIT_NANOS));
            } catch (ExecutionException e) {
                LOG.warn("Sessions: reading the sessions of an event loop failed: {}", e.getCause().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        out.sort((a, b) -> a.clientId().compareTo(b.clientId()));
        return out;
    }

    /** How long {@link #sessions()} waits for the event loops to describe their sessions. */
    private static final long SNAPSHOT_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static List<SessionInfo> snapshots(List<Session> mine) {
        List<SessionInfo> out = new ArrayList<>(mine.size());
        for (Session s : mine) {
            SessionInfo i = s.snapshot();
            if (i != null) {
                out.add(i);
            }
        }
        return out;
    }

    @Override
    public List<SubscriptionInfo> subscriptions() {
        List<SubscriptionInfo> out = new ArrayList<>();
        tree.forEach((group, filter, clientId, sub) -> out.add(sub.info(clientId)));
        out.sort((a, b) -> a.clientId().equals(b.clientId()) ? a.fullFilter().compareTo(b.fullFilter())
                : a.clientId().compareTo(b.clientId()));
        return out;
    }

    @Override
    public List<Message> retained(String topicFilter) {
        String err = Topics.validateTopicFilter(topicFilter);
        if (err != null) {
            throw new IllegalArgumentException("invalid topic filter '" + topicFilter + "': " + err);
        }
        if (Topics.isShared(topicFilter)) {
            throw new IllegalArgumentException("invalid topic filter '" + topicFilter
                    + "': shared subscription filters cannot select retained messages");
        }
        List<Message> out = new ArrayList<>(retainedStores.current().match(topicFilter));
        out.sort((a, b) -> a.topic().compareTo(b.topic()));
        return out;
    }

    @Override
    public List<ListenerInfo> listeners() {
        List<ListenerInfo> out = new ArrayList<>();
        for (Listener l : listeners.values()) {
            out.add(l.info());
        }
        out.sort((a, b) -> a.name().compareTo(b.name()));
        return out;
    }

    @Override
    public BrokerStats stats() {
        int connected = stats.connected.get();
        int total = sessions.size();
        return new BrokerStats(VERSION, (System.currentTimeMillis() - startedAt) / 1000, connected,
                Math.max(0, total - connected), stats.maximumConnected.get(), stats.messagesReceived.sum(),
                stats.messagesSent.sum(), stats.publishDropped.sum(), stats.publishReceived.sum(),
                stats.publishSent.sum(), stats.bytesReceived.sum(), stats.bytesSent.sum(), tree.size(),
                retainedStores.current().size(), stats.storedMessages.get(), stats.publishersPaused.sum(),
                stats.publisherPausesExtended.sum(), stats.publisherPausesCapped.sum());
    }

    @Override
    public int publish(Message message) {
        String err = Topics.validateTopicName(message.topic());
        if (err != null) {
            throw new IllegalArgumentException("invalid topic name '" + message.topic() + "': " + err);
        }
        String responseTopic = message.properties() == null ? null : message.properties().responseTopic();
        if (responseTopic != null && (err = Topics.validateTopicName(responseTopic)) != null) {
            throw new IllegalArgumentException("invalid response topic '" + responseTopic + "': " + err);
        }
        if (message.qos() > config.maxQos()) {
            throw new IllegalArgumentException("QoS " + message.qos() + " exceeds max.qos " + config.maxQos());
        }
        return publish(null, message).targets();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Never blocks: the disconnect (and the removal of the session) is done on the session's event loop, right
     * away when called there, else soon after this returns. Listings show the result once it is done.
     */
    @Override
    public boolean kick(String clientId, boolean removeSession) {
        Session s = sessions.get(clientId);
        if (s == null) {
            return false;
        }
        Runnable kick = () -> {
            ClientChannel c = s.connection;
            if (removeSession) {
                s.expiryInterval = 0;
            }
            if (c != null) {
                LOG.info("Client {}: disconnected by an administrator", clientId);
                c.disconnect(MqttConnection.RC_ADMINISTRATIVE_ACTION, "administrative action");
            } else if (removeSession && !s.ended) {
                endSession(s);
            }
        };
        if (s.loop.inEventLoop()) {
            kick.run();
        } else {
            // never waits: the caller may be an interceptor on another event loop. A caller that wants the next
            // listing to show the result (the mqtt:kick command) waits for it itself.
            try {
                s.loop.execute(kick);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                return true; // the broker is stopping: the session goes anyway
            }
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------ misc

    private static String readVersion() {
        Package p = Broker.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }
}
