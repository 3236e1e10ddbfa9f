package io.brokkr.broker.session;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.api.SessionInfo;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.QueueFullPolicy;
import io.brokkr.broker.topic.Subscription;
import io.netty.channel.EventLoop;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state of one client session. Every field is confined to {@link #loop}, the event loop the session is pinned
 * to (that of the connection that created it), so no locks are needed: other threads hand work to the session with {@code loop.execute}.
 */
public final class Session {

    private static final Logger LOG = LoggerFactory.getLogger(Session.class);

    public enum OutState { PUBLISH_SENT, PUBREL_SENT }

    public static final class Inflight {
        final Delivery delivery;
        OutState state = OutState.PUBLISH_SENT;
        /** Sent on an earlier connection, not yet resent on this one (the client's Receive Maximum was full). */
        boolean awaitingResend;

        Inflight(Delivery delivery) {
            this.delivery = delivery;
        }
    }

    /**
     * Deliveries handed to this session's loop by other loops and not run yet, above which the publishers are
     * throttled: the broker's own event loop is behind.
     */
    public static final int THROTTLE_PENDING_DELIVERIES = 4096;
    /**
     * The bound of such hand-offs (any QoS): beyond it a delivery is refused on the publisher's loop (dropped for this
     * session and counted; a QoS 1/2 publisher whose message no target took gets 0x97 Quota exceeded).
     */
    public static final int MAX_PENDING_DELIVERIES = 4 * THROTTLE_PENDING_DELIVERIES;

    /**
     * Publisher back-pressure: once this many QoS 1/2 messages wait behind the inflight window of an online session
     * (at most half of max.queued.messages), connections publishing to it stop being read until the queue is down
     * to a quarter of that. A fast publisher thus slows to the pace of its slowest online QoS 1/2 subscriber instead
     * of overflowing its queue, where acknowledged messages would be dropped.
     */
    public static final int THROTTLE_QUEUE = 1000;

    public final String clientId;
    public final EventLoop loop;
    /**
     * Set when the queue of this online session is long (see {@link #THROTTLE_QUEUE}), cleared when it drained.
     * Written on {@link #loop} only; other threads read it through {@link #congested()}, which also counts the
     * deliveries on their way to the loop.
     */
    private volatile boolean congested;
    /** How this session's congestion affects its publishers (set at attach). */
    public volatile QueueFullPolicy queueFullPolicy = QueueFullPolicy.AUTO;
    /**
     * A session whose client has not acknowledged anything for this long is stuck rather than slow: it no longer
     * throttles the publishers of its QoS 1/2 messages (its queue fills up to max.queued.messages as without
     * back-pressure), so that one stuck client cannot slow its publishers down until its keep alive runs out.
     */
    public static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * {@link System#nanoTime()} of the last sign that the client makes progress: a PUBACK, PUBREC or PUBCOMP that
     * ended or advanced a flow, its socket becoming writable again, or the attach; or of the moment it got something
     * to take while it had nothing ({@link #noteOutstanding()}).
     */
    private volatile long lastProgressNanos = System.nanoTime();
    /**
     * Publishing connections paused because of this session; resumed when it is no longer congested. Created on
     * first use (few sessions ever get congested): see {@link #throttled()}.
     */
    private volatile Set<ClientChannel> throttled;
    /**
     * The max.queued.messages this session's queue was full at when it last refused a message, or -1 while it has
     * room (written on {@link #loop}: set by a refusal, reset by every removal from the queue). Publishers' loops read
     * it through {@link #refusesQueued} and drop a QoS 1/2 delivery for this session there, counted like a drop here,
     * rather than hand it to this loop only to be dropped: a slow subscriber over its bound then costs the
     * publishers of what others receive too no cross-loop hand-off and no wait for its loop before their PUBACK.
     */
    private volatile int fullAt = -1;
    /**
     * Deliveries handed to {@link #loop} by other threads and not run yet (any thread; changed through
     * {@link #PENDING}, not an AtomicInteger per session: 16 bytes less).
     */
    private volatile int pendingDeliveries;
    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(Session.class, "pendingDeliveries", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    public final int loopIndex;
    private final SessionHost broker;

    /**
     * Subscriptions by full filter (with $share prefix). Read it; change it only through {@link #putSubscription},
     * {@link #removeSubscription} and {@link #clearSubscriptions}: it is an empty immutable map until the first
     * subscription (a HashMap then), so that a session without subscriptions does without the map's 48 bytes.
     */
    public Map<String, Subscription> subscriptions = Map.of();

    /** Adds or replaces the subscription with this full filter; returns the one replaced, or null. */
    public Subscription putSubscription(String full, Subscription sub) {
        if (!(subscriptions instanceof HashMap)) {
            subscriptions = new HashMap<>();
        }
        return subscriptions.put(full, sub);
    }

    /** Removes the subscription with this full filter; returns it, or null if there was none. */
    public Subscription removeSubscription(String full) {
        return subscriptions.isEmpty() ? null : subscriptions.remove(full);
    }

    public void clearSubscriptions() {
        subscriptions = Map.of();
    }
    /**
     * Outbound QoS 1/2 messages awaiting acknowledgement, in send order: an empty immutable map until the first one
     * is sent (a LinkedHashMap then), so that an idle session does without the map's 56 bytes. Only
     * {@link #sendInflight} adds; every removal finds the entry first, so it removes from the LinkedHashMap.
     */
    private Map<Integer, Inflight> inflight = Map.of();
    /**
     * Messages waiting for the inflight window or for the client to come back. Read it; only {@link #enqueue} and
     * {@link #releaseQos0Waiting} add to it. Until the first message is queued it is the shared empty
     * {@link #NO_QUEUE} (an idle session does without the queue's 48 bytes); then a queue of its own, which starts
     * with room for one (the default of 16 would cost every session 60 bytes) and grows on demand.
     */
    public ArrayDeque<Delivery> queue = NO_QUEUE;
    /** The {@link #queue} of every session that never queued a message: always empty, it refuses additions. */
    private static final ArrayDeque<Delivery> NO_QUEUE = new ArrayDeque<>(0) {
        @Override
        public void addFirst(Delivery d) {
            throw new UnsupportedOperationException("shared empty queue");
        }

        @Override
        public void addLast(Delivery d) {
            throw new UnsupportedOperationException("shared empty queue");
        }

        @Override
        public boolean addAll(java.util.Collection<? extends Delivery> c) {
            throw new UnsupportedOperationException("shared empty queue");
        }

        @Override
        public void clear() {
            // empty already (and shared: no writes)
        }
    };
    /**
     * Sum of {@link #queuedSize} over {@link #queue} and {@link #qos0Waiting}, bounded by max.queued.bytes. Every
     * removal subtracts what its addition added.
     */
    private long queuedBytes;
    /**
     * QoS 0 messages for the online client that wait for its socket to become writable (sent by {@link #onWritable}).
     * Apart from {@link #queue} so that they do not wait behind QoS 1/2 messages held back by the inflight window; they
     * count against the same bounds.
     */
    private ArrayDeque<Delivery> qos0Waiting; // created when the first one has to wait (48 bytes per idle session)
    /** Inbound QoS 2 packet ids received (PUBREC sent) and not yet released; created with the first one. */
    private Set<Integer> inboundQos2;

    public volatile ClientChannel connection;
    public volatile boolean online;
    public ProtocolVersion protocolVersion = ProtocolVersion.MQTT_3_1_1;
    public long expiryInterval;
    public long disconnectedAt;
    public boolean ended;
    /** False until the first connection attached (a fresh session has nothing to clean). */
    public boolean everAttached;

    /**
     * A will, the client that set it (the will is published as this client's message) and its delay in seconds: one
     * object (for sessions with a will) rather than three fields in every session.
     */
    private record Will(Message message, ConnectionContext client, long delay) {
    }

    /** The will of the current connection, or null. */
    private Will will;
    private ScheduledFuture<?> expiryTask;
    private int nextPacketId = 1;
    /** Inflight entries with {@link Inflight#awaitingResend} set. */
    private int awaitingResend;
    private boolean flushScheduled;
    /**
     * When this session last logged a drop ({@link System#nanoTime()}; 0: never). Any thread, racy by design: at
     * worst a line more.
     */
    private volatile long dropLoggedAt;
    /** Longest a session that keeps dropping messages goes without a log line about it. */
    static final long DROP_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    public Session(SessionHost broker, String clientId, EventLoop loop, int loopIndex) {
        this.broker = broker;
        this.clientId = clientId;
        this.loop = loop;
        this.loopIndex = loopIndex;
    }

    public boolean connected() {
        return connection != null;
    }

    /** Counts a delivery handed to {@link #loop} by another thread (any thread). */
    public void addPendingDelivery() {
        PENDING.getAndAdd(this, 1);
    }

    /** Counts a handed-over delivery as run or dropped (any thread). */
    public void removePendingDelivery() {
        PENDING.getAndAdd(this, -1);
    }

    /** Deliveries handed to {@link #loop} by other threads and not run yet (any thread). */
    public int pendingDeliveries() {
        return pendingDeliveries;
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /** Attaches a new connection (the old one, if any, has been detached). Returns true if state was resumed. */
    public void attach(ClientChannel conn, long expiry, Message newWill, long newWillDelay) {
        cancelExpiry();
        cancelPendingWill(); // reconnected within the will delay: the pending will is not sent [MQTT-3.1.3-9]
        this.connection = conn;
        this.online = true;
        this.lastProgressNanos = System.nanoTime();
        this.protocolVersion = conn.protocolVersion();
        this.queueFullPolicy = broker.config().queueFullPolicyOf(clientId, conn.listenerQueueFullPolicy());
        this.expiryInterval = expiry;
        this.will = newWill == null ? null : new Will(newWill, conn.context(), newWillDelay);
        this.disconnectedAt = 0;
    }

    /** Sends what was unacknowledged (DUP) and what was queued; called right after CONNACK. */
    public void resume() {
        ClientChannel conn = connection;
        if (conn == null) {
            return;
        }
        // the new connection may have a smaller Receive Maximum: resend only as many as it allows, the rest as
        // acknowledgements come in (same packet ids, DUP set) [MQTT-3.3.4-9], [MQTT-4.4.0-1]
        awaitingResend = 0;
        for (Inflight f : inflight.values()) {
            f.awaitingResend = true;
            awaitingResend++;
        }
        drain();
        scheduleFlush();
    }

    /** Resends inflight entries of an earlier connection while the window has room. */
    private void resendAwaiting(ClientChannel conn) {
        if (awaitingResend == 0) {
            return;
        }
        int window = conn.inflightWindow();
        for (Iterator<Map.Entry<Integer, Inflight>> it = inflight.entrySet().iterator();
             it.hasNext() && awaitingResend > 0; ) {
            Map.Entry<Integer, Inflight> e = it.next();
            Inflight f = e.getValue();
            if (!f.awaitingResend) {
                continue;
            }
            if (inflight.size() - awaitingResend >= window) {
                return;
            }
            f.awaitingResend = false;
            awaitingResend--;
            if (f.state == OutState.PUBLISH_SENT) {
                if (!conn.writePublish(f.delivery, e.getKey(), true)) {
                    // too large for the new connection's Maximum Packet Size: discarded, frees the window
                    it.remove();
                }
            } else {
                conn.writePubRel(e.getKey(), 0);
            }
        }
    }

    /** Removes an acknowledged inflight entry. */
    private void removeInflight(int packetId) {
        Inflight f = inflight.remove(packetId);
        if (f != null) {
            resendNotNeeded(f);
        }
    }

    /** The entry is acknowledged or taken away: it is not to be resent on this connection any more. */
    private void resendNotNeeded(Inflight f) {
        if (f.awaitingResend) {
            f.awaitingResend = false;
            awaitingResend--;
        }
    }

    /**
     * The connection went away.
     *
     * @param sendWill whether the will is to be published (abnormal close or DISCONNECT 0x04)
     */
    public void detach(ClientChannel conn, boolean sendWill) {
        if (connection != conn) {
            return; // taken over already
        }
        connection = null;
        online = false;
        releaseQos0Waiting();
        releaseThrottled(); // offline sessions queue up to max.queued.messages and slow nobody down
        disconnectedAt = System.currentTimeMillis();
        Will w = will;
        will = null;
        if (w != null && sendWill) {
            if (w.delay() == 0 || expiryInterval == 0) {
                broker.publishWill(w.message(), w.client());
            } else {
                long delay = Math.min(w.delay(), expiryInterval);
                pendingWill = new PendingWill(w, loop.schedule(() -> {
                    pendingWill = null;
                    broker.publishWill(w.message(), w.client());
                }, delay, TimeUnit.SECONDS));
            }
        }
        if (expiryInterval == 0) {
            broker.endSession(this);
        } else if (expiryInterval != BrokerConfig.NEVER_EXPIRE) {
            expiryTask = loop.schedule(() -> {
                expiryTask = null;
                if (connection == null && !ended) {
                    LOG.debug("Session {} expired", clientId);
                    broker.endSession(this);
                }
            }, expiryInterval, TimeUnit.SECONDS);
        }
    }

    /** The will of a connection gone and the task that publishes it after its delay. */
    private record PendingWill(Will will, ScheduledFuture<?> task) {
    }

    /**
     * The will of a connection gone, waiting for its delay, or null (one field, and an object only while a will
     * waits: each field of a session is paid by every idle connection).
     */
    private PendingWill pendingWill;

    /** Ends the session: a pending delayed will is published now [MQTT-3.1.3-9]. Called by Broker.endSession. */
    public void end() {
        ended = true;
        releaseThrottled();
        cancelExpiry();
        PendingWill p = pendingWill;
        if (p != null) {
            pendingWill = null;
            p.task().cancel(false);
            broker.publishWill(p.will().message(), p.will().client());
        }
        broker.counters().storedMessages.addAndGet(-queuedCount());
        queue.clear();
        qos0Waiting = null;
        queuedBytes = 0;
        hasRoom();
        if (!inflight.isEmpty()) {
            inflight.clear();
        }
        retainedPending = null;
        awaitingResend = 0;
        inboundQos2 = null;
    }

    /**
     * Takes the messages this session holds for shared subscriptions out of its queue and (if {@code inflightToo})
     * out of its inflight window, oldest first, so that they can go to other members of their groups. Of the
     * inflight ones only QoS 1 messages not acknowledged yet are taken (the specification lets them go to another
     * member once the session ends). A QoS 2 message sent to this client stays, acknowledged or not: it must not
     * go to any other member [MQTT-4.8.2-5], and ends with the session. Runs on {@link #loop}.
     *
     * @param only the shared subscription whose messages are taken, or null for those of all shared subscriptions
     */
    public java.util.List<Delivery> takeShared(Subscription only, boolean inflightToo) {
        java.util.List<Delivery> out = new java.util.ArrayList<>();
        if (inflightToo) {
            for (Iterator<Inflight> it = inflight.values().iterator(); it.hasNext(); ) {
                Inflight f = it.next();
                if (f.state == OutState.PUBLISH_SENT && f.delivery.qos() == 1 && isShared(f.delivery, only)) {
                    out.add(f.delivery);
                    resendNotNeeded(f);
                    it.remove();
                }
            }
        }
        for (Iterator<Delivery> it = queue.iterator(); it.hasNext(); ) {
            Delivery d = it.next();
            if (isShared(d, only)) {
                out.add(d);
                it.remove();
                queuedBytes -= queuedSize(d);
                broker.counters().storedMessages.decrementAndGet();
            }
        }
        if (!out.isEmpty()) {
            hasRoom();
        }
        if (!out.isEmpty() && !ended) {
            maybeRelease();
        }
        return out;
    }

    private static boolean isShared(Delivery d, Subscription only) {
        Subscription s = d.shared();
        return s != null && (only == null
                || (s.shareGroup().equals(only.shareGroup()) && s.filter().equals(only.filter())));
    }

    /** Discards a delayed will without publishing it (new connection with clean start, or takeover resumed). */
    public void cancelPendingWill() {
        PendingWill p = pendingWill;
        if (p != null) {
            pendingWill = null;
            p.task().cancel(false);
        }
    }

    private void cancelExpiry() {
        if (expiryTask != null) {
            expiryTask.cancel(false);
            expiryTask = null;
        }
    }

    /** The will of the current connection (for takeover handling). */
    public Message will() {
        return will == null ? null : will.message();
    }

    /** The client that set {@link #will()}. */
    public ConnectionContext willClient() {
        return will == null ? null : will.client();
    }

    /** The delay of {@link #will()} in seconds (0 without a will). */
    public long willDelay() {
        return will == null ? 0 : will.delay();
    }

    /** Another connection takes this session over: forget the old connection; the broker handles its will. */
    public void takeOver() {
        connection = null;
        online = false;
        will = null;
        releaseQos0Waiting();
        releaseThrottled();
        outboundReset();
    }

    private void outboundReset() {
        flushScheduled = false;
    }

    // ------------------------------------------------------------------------------------------------ outbound

    /**
     * Delivers or queues a message. Runs on {@link #loop}. A message is written at once only while nothing waits
     * before it, the socket is writable and (QoS 1/2) the inflight window has room; otherwise it is queued, QoS 0
     * too, and sent as the socket drains ({@link #onWritable}) and acknowledgements come in, so a subscriber that
     * keeps reading gets everything.
     *
     * @return false if the message was refused: the queue is full (dropped for this session and counted)
     */
    public boolean deliver(Delivery d) {
        if (ended) {
            if (d.shared() != null) {
                broker.redispatchShared(d); // chosen for a shared subscription just before this session ended
            }
            return true;
        }
        ClientChannel conn = connection;
        if (conn == null) {
            if (d.qos() == 0 && !broker.config().queueQos0()) {
                return true;
            }
            return enqueue(d);
        }
        if (d.qos() == 0) {
            if ((qos0Waiting == null || qos0Waiting.isEmpty()) && conn.isWritable()) {
                conn.writePublish(d, 0, false);
                scheduleFlush();
                return true;
            }
            if (qos0Waiting == null) {
                qos0Waiting = new ArrayDeque<>(0);
            }
            noteOutstanding();
            return enqueue(qos0Waiting, d);
        }
        if (queue.isEmpty() && inflight.size() < conn.inflightWindow()) {
            sendInflight(conn, d);
            scheduleFlush();
            return true;
        }
        return enqueue(queue, d);
    }

    /** The connection's socket can take more again: send what waits. Runs on {@link #loop}. */
    public void onWritable() {
        lastProgressNanos = System.nanoTime();
        drain();
    }

    /** Messages waiting in this session: its queue and the QoS 0 messages waiting for the socket. */
    public int queuedCount() {
        return queue.size() + (qos0Waiting == null ? 0 : qos0Waiting.size());
    }

    /** Sends the QoS 0 messages that wait for the socket while it is writable. */
    private void drainQos0(ClientChannel conn, long now) {
        Delivery d;
        while (qos0Waiting != null && conn.isWritable() && (d = qos0Waiting.poll()) != null) {
            queuedBytes -= queuedSize(d);
            broker.counters().storedMessages.decrementAndGet();
            hasRoom();
            if (!d.message().isExpired(now)) {
                conn.writePublish(d, 0, false);
            }
        }
    }

    /**
     * The connection went away: QoS 0 messages that waited for its socket join the offline queue if queue.qos0 is
     * set, else they are dropped (counted).
     */
    private void releaseQos0Waiting() {
        if (qos0Waiting == null || qos0Waiting.isEmpty()) {
            return;
        }
        if (broker.config().queueQos0()) {
            if (queue == NO_QUEUE) {
                queue = new ArrayDeque<>(qos0Waiting.size());
            }
            queue.addAll(qos0Waiting);
        } else {
            for (Delivery d : qos0Waiting) {
                queuedBytes -= queuedSize(d);
            }
            broker.counters().storedMessages.addAndGet(-qos0Waiting.size());
            broker.counters().publishDropped.add(qos0Waiting.size());
            hasRoom();
        }
        qos0Waiting.clear();
    }

    private boolean enqueue(Delivery d) {
        return enqueue(queue, d);
    }

    private boolean enqueue(ArrayDeque<Delivery> into, Delivery d) {
        BrokerConfig cfg = broker.config();
        int maxMessages = cfg.maxQueuedMessages();
        long maxBytes = cfg.maxQueuedBytes();
        if (queuedCount() >= maxMessages) {
            if (maxMessages > 0 && !queue.isEmpty()) {
                // until a message leaves, a QoS 1/2 delivery would wait behind the queue and be refused: refuse it
                // on its publisher's loop (with no queue a QoS 1/2 message can still be sent at once)
                fullAt = maxMessages;
            }
            dropped(d, cfg);
            return false;
        }
        long size = queuedSize(d);
        if (maxBytes > 0 && queuedBytes + size > maxBytes) {
            dropped(d, cfg);
            return false;
        }
        if (into == NO_QUEUE) {
            into = queue = new ArrayDeque<>(0);
        }
        into.add(d);
        queuedBytes += size;
        broker.counters().storedMessages.incrementAndGet();
        if (!congested && online && (queuedCount() >= throttleHigh()
                || (maxBytes > 0 && queuedBytes >= maxBytes / 2))) {
            congested = true;
        }
        return true;
    }

    /**
     * Counts a message dropped for this session because its queue is full, and logs it: the first drop, then at
     * most one line per {@link #DROP_LOG_INTERVAL_NANOS} while drops go on (a slow subscriber beside a fast fan-in
     * drops a message per message published: a line per 1,000 drops in the broker, as before, came to 140 lines a
     * second). Any thread: a publisher's loop calls it through {@link #refusesQueued}.
     */
    private void dropped(Delivery d, BrokerConfig cfg) {
        broker.counters().publishDropped.increment();
        long now = System.nanoTime();
        long last = dropLoggedAt;
        if (last == 0 || now - last >= DROP_LOG_INTERVAL_NANOS) {
            dropLoggedAt = now == 0 ? 1 : now;
            boolean here = loop.inEventLoop(); // else the count at which the queue last refused a message
            int full = fullAt;
            Object queued = here ? queuedCount() : full >= 0 ? "~" + full : "?";
            LOG.warn("Session {}: queue full ({} messages, {} bytes; max.queued.messages {}, max.queued.bytes {}), "
                    + "dropping messages for it, here one on '{}' (logged at most every {} s while it lasts; {} "
                    + "dropped in the broker since it started)", clientId, queued, here ? queuedBytes : "?",
                    cfg.maxQueuedMessages(), cfg.maxQueuedBytes(), d.message().topic(),
                    TimeUnit.NANOSECONDS.toSeconds(DROP_LOG_INTERVAL_NANOS), broker.counters().publishDropped.sum());
        }
    }

    /** The queue has room again (a message left it): deliveries are no longer refused on publishers' loops. */
    private void hasRoom() {
        if (fullAt >= 0) {
            fullAt = -1;
        }
    }

    /**
     * Called on a publisher's loop before handing {@code d} to this session's loop: true if it is dropped there
     * instead (counted), because it is a QoS 1/2 message and this session's queue was full at the current
     * max.queued.messages when it last refused one and nothing has left it since. Such a message would wait behind
     * the full queue and be refused on this loop; what is sent at once (QoS 0 to a writable socket), what is not
     * queued and what goes to a shared subscription (handed to another member if this session has just ended) is
     * never refused here.
     */
    public boolean refusesQueued(Delivery d, BrokerConfig cfg) {
        int f = fullAt;
        if (f < 0 || d.qos() == 0 || d.shared() != null || f != cfg.maxQueuedMessages()) {
            return false;
        }
        dropped(d, cfg);
        return true;
    }

    /**
     * What a queued message counts against max.queued.bytes: its size as an MQTT 5 PUBLISH packet (payload, topic,
     * properties), an estimate of the memory it holds. A message queued for several sessions counts in each of
     * them although the broker holds one copy.
     */
    public long queuedSize(Delivery d) {
        Message m = d.message();
        MessageProperties mp = m.properties() == null ? MessageProperties.NONE : m.properties();
        return broker.publishPacketSize(m.topic(), d.qos(), true, mp, null, d.subscriptionIds(), 0,
                m.payload().length);
    }

    /** Queued messages from which this online session counts as congested. Any thread. */
    public int throttleHigh() {
        return Math.max(1, Math.min(THROTTLE_QUEUE, broker.config().maxQueuedMessages() / 2));
    }

    /** True if the queue holds at most an eighth of max.queued.bytes (a quarter of the throttling threshold). */
    private boolean fewQueuedBytes() {
        long maxBytes = broker.config().maxQueuedBytes();
        return maxBytes <= 0 || queuedBytes <= maxBytes / 8;
    }

    /** The set of throttled publishers, created if needed. Any thread. */
    public Set<ClientChannel> throttled() {
        Set<ClientChannel> t = throttled;
        if (t == null) {
            synchronized (this) {
                t = throttled;
                if (t == null) {
                    t = ConcurrentHashMap.newKeySet();
                    throttled = t;
                }
            }
        }
        return t;
    }

    /**
     * Hands a delivery to {@link #loop} from another thread; it counts in {@link #pendingDeliveries} until it runs.
     *
     * @throws java.util.concurrent.RejectedExecutionException if the loop is shutting down (nothing is counted)
     */
    public void deliverFromOtherLoop(Delivery d) {
        addPendingDelivery();
        try {
            loop.execute(() -> {
                removePendingDelivery();
                deliver(d);
                maybeRelease();
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            removePendingDelivery();
            throw e;
        }
    }

    /**
     * Ends congestion once the session keeps up again: its QoS 1/2 queue is down to a quarter of the threshold and
     * few deliveries are on their way to its loop. Runs on {@link #loop}.
     */
    public void maybeRelease() {
        if ((congested || hasThrottled()) && queuedCount() + pendingDeliveries() <= throttleHigh() / 4
                && fewQueuedBytes() && pendingDeliveries() < THROTTLE_PENDING_DELIVERIES / 4) {
            releaseThrottled();
        }
    }

    /**
     * True while this online session cannot keep up: its queue is long (the flag, written on {@link #loop}), or the
     * deliveries on their way to its loop, which it has not seen yet, reach half the threshold (queued and on their
     * way together then stay below the queue bound, so what a throttled publisher already sent is not dropped). The
     * second condition is read from {@link #pendingDeliveries}, so the publisher's loop never writes this session's
     * state; publishers paused because of it are resumed by {@link #maybeRelease} once queue and hand-offs drop to a
     * quarter of the threshold. Any thread.
     */
    public boolean congested() {
        return congested || pendingDeliveries() >= Math.max(1, throttleHigh() / 2);
    }

    private boolean hasThrottled() {
        Set<ClientChannel> t = throttled;
        return t != null && !t.isEmpty();
    }

    /** Resumes the publishers throttled because of this session. Runs on {@link #loop}. */
    private void releaseThrottled() {
        congested = false;
        Set<ClientChannel> t = throttled; // a publisher that adds itself after this re-checks congested itself
        if (t != null && !t.isEmpty()) {
            resumeAll(t);
        }
    }

    /**
     * Resumes the publishers in {@code waiting} when this began, each once, and removes them. Not by walking the
     * set while resuming: its iterator is weakly consistent, and a publisher on another loop, resumed, routes one
     * message, finds this session congested again and adds itself back, where a walk still under way can meet it
     * again (it did: two publishers sharing a hash bin were resumed in turn, one message each, for as long as they
     * kept adding themselves, while this loop, held in the walk, ran none of the hand-offs piling up for it; its
     * queue then overflowed, 1 to 3 runs of 40 of {@code BackPressureTest}'s pipelined fan-in under load).
     */
    static void resumeAll(Set<ClientChannel> waiting) {
        for (ClientChannel c : waiting.toArray(new ClientChannel[0])) {
            if (waiting.remove(c)) {
                c.resumeReading();
            }
        }
    }

    private void sendInflight(ClientChannel conn, Delivery d) {
        noteOutstanding();
        int id = nextPacketId();
        if (!(inflight instanceof LinkedHashMap)) {
            inflight = new LinkedHashMap<>();
        }
        inflight.put(id, new Inflight(d));
        if (!conn.writePublish(d, id, false)) {
            // not sendable (over the client's Maximum Packet Size): discarded as if delivered [MQTT-3.1.2-25]
            inflight.remove(id);
        }
    }

    private int nextPacketId() {
        for (int i = 0; i < 65_535; i++) {
            int id = nextPacketId;
            nextPacketId = id == 65_535 ? 1 : id + 1;
            if (!inflight.containsKey(id)) {
                return id;
            }
        }
        throw new IllegalStateException("no free packet id");
    }

    /** Sends queued messages while the inflight window has room. */
    public void drain() {
        ClientChannel conn = connection;
        if (conn == null) {
            return;
        }
        resendAwaiting(conn);
        long now = System.currentTimeMillis();
        int window = conn.inflightWindow();
        drainQos0(conn, now);
        while (!queue.isEmpty()) {
            Delivery d = queue.peek();
            if (d.qos() > 0 ? inflight.size() >= window : !conn.isWritable()) {
                break; // QoS 1/2 wait for the window, QoS 0 for the socket
            }
            queue.poll();
            queuedBytes -= queuedSize(d);
            broker.counters().storedMessages.decrementAndGet();
            hasRoom();
            if (d.message().isExpired(now)) {
                continue;
            }
            if (d.qos() == 0) {
                conn.writePublish(d, 0, false);
            } else {
                sendInflight(conn, d);
            }
        }
        maybeRelease();
        pumpRetained();
        scheduleFlush();
    }

    // ------------------------------------------------------------------------------------------------ retained

    /** Retained messages still to be sent after SUBSCRIBEs, oldest subscription first; null when none. */
    private ArrayDeque<RetainedCursor> retainedPending;

    /**
     * Sends the retained messages a subscription matched, paced: as many as the socket and the inflight window
     * take now, the rest when the socket becomes writable again or acknowledgements come. A new SUBSCRIBE to the
     * same filter replaces what is still pending for it. Runs on {@link #loop}.
     */
    public void sendRetained(Subscription sub, java.util.List<Message> matched) {
        dropRetained(sub.filter());
        if (matched.isEmpty() || ended) {
            return;
        }
        if (retainedPending == null) {
            retainedPending = new ArrayDeque<>(2);
        }
        retainedPending.add(new RetainedCursor(sub, matched));
        pumpRetained();
    }

    /** Forgets the retained messages still to be sent for a filter (UNSUBSCRIBE). Runs on {@link #loop}. */
    public void dropRetained(String filter) {
        if (retainedPending != null) {
            retainedPending.removeIf(c -> c.filter.equals(filter));
            if (retainedPending.isEmpty()) {
                retainedPending = null;
            }
        }
    }

    /** Retained messages still to be sent after SUBSCRIBEs. Runs on {@link #loop}. */
    public int retainedPending() {
        int n = 0;
        if (retainedPending != null) {
            for (RetainedCursor c : retainedPending) {
                n += c.remaining();
            }
        }
        return n;
    }

    /**
     * Continues the pending retained deliveries: QoS 0 ones while the socket is writable, QoS 1/2 ones while the
     * inflight window has room and no queued message waits for it. A message replaced or deleted since the SUBSCRIBE
     * is skipped: the newer message (or the deletion) reached the subscription as a live message already, and an
     * older one must not follow it. Pending deliveries stay with a session that is offline and continue when it
     * resumes. Runs on {@link #loop}: on SUBSCRIBE, on writability changes, on acknowledgements.
     */
    public void pumpRetained() {
        ClientChannel conn = connection;
        if (retainedPending == null || conn == null) {
            return;
        }
        io.netty.channel.Channel ch = conn.channel();
        io.brokkr.api.storage.RetainedStore store = broker.retainedStore();
        long now = System.currentTimeMillis();
        boolean raw = conn.rawRetainedQos0();
        boolean wrote = false;
        try {
            for (RetainedCursor c; (c = retainedPending.peek()) != null; retainedPending.poll()) {
                while (c.hasNext()) {
                    Message m = c.peek();
                    int qos = Math.min(m.qos(), c.subscription.qos());
                    if (!ch.isWritable()
                            || (qos > 0 && (inflight.size() >= conn.inflightWindow() || !queue.isEmpty()))) {
                        return; // continued by channelWritabilityChanged or by an acknowledgement
                    }
                    c.advance();
                    Message current = store.get(m.topic());
                    if (current != m && !m.equals(current)) {
                        continue;
                    }
                    if (m.isExpired(now)) {
                        broker.removeRetained(m.topic());
                        continue;
                    }
                    if (qos == 0 && raw) {
                        conn.writeRetainedQos0(m);
                    } else if (qos == 0) {
                        conn.writePublish(new Delivery(m, 0, true, c.subscriptionIds), 0, false);
                    } else {
                        conn.endRetainedBatch(); // in order
                        sendInflight(conn, new Delivery(m, qos, true, c.subscriptionIds));
                    }
                    wrote = true;
                }
            }
            retainedPending = null;
        } finally {
            if (wrote) {
                conn.endRetainedBatch();
                scheduleFlush();
            }
        }
    }

    /**
     * Starts the clock of {@link #stalled()} when the client gets something to take while it had nothing (no message
     * in flight, no QoS 0 message waiting for its socket): a client that had nothing to receive for a while is idle,
     * not stuck, when a burst reaches it. {@link #loop} only.
     */
    private void noteOutstanding() {
        if (inflight.isEmpty() && (qos0Waiting == null || qos0Waiting.isEmpty())) {
            lastProgressNanos = System.nanoTime();
        }
    }

    /** {@link System#nanoTime()} of the client's last sign of progress (see {@link #stalled()}). Any thread. */
    public long lastProgressNanos() {
        return lastProgressNanos;
    }

    /**
     * True if congested by a client that is stuck rather than slow (see {@link #STALL_NANOS}). Any thread. Besides
     * acknowledgements and writability, a shrinking outbound buffer of the connection counts as progress: while the
     * session is congested it writes nothing new, so the buffer shrinks only as the client reads. The sample is
     * updated by whichever thread asks; a race between two of them can only miss or repeat one sample.
     * <p>
     * When that shows no progress for {@link #STALL_NANOS}, the kernel is asked (at most every
     * {@link #KERNEL_ASK_MILLIS}; a system call): the time it last sent data to the client counts too. A client that
     * reads a few MB/s or less empties the kernel's send buffer (up to 4 MiB here) steadily, but the kernel wakes
     * the connection to write again only once a third of that buffer is free, and the connection's own buffer (up to
     * 2 MiB) must drain to 512 KiB before the session writes again: seen from the buffers alone, such a client made
     * no progress for more than a second, counted as stuck, and its publishers went on while its queue overflowed
     * (by hand, with pauses extended on the buffers' progress alone: a Paho subscriber reading 10,000 small
     * messages a second lost 21 to 42 % of a `mosquitto_pub -l` flood in 3 of 7 runs, one reading 1,000 a second a
     * third of it).
     * <p>
     * The clock starts at the latest when the client got something to take while it had nothing, and a session
     * congested only by hand-offs on their way to its loop (fewer than {@link #THROTTLE_PENDING_DELIVERIES}) is not
     * stuck: a client idle for more than a second counted as stuck as soon as a burst reached it, before its loop
     * had sent it anything, nobody was paused, and a pipelined fan-in from two loops overflowed its queue
     * ({@code IdleSubscriberBurstTest}).
     */
    public boolean stalled() {
        if (!congested && congested() && pendingDeliveries() < THROTTLE_PENDING_DELIVERIES) {
            return false; // only hand-offs wait, for this loop, a little behind: its client is not to blame
        }
        long now = System.nanoTime();
        ClientChannel c = connection;
        if (c != null) {
            long pending = c.pendingWriteBytes();
            int last = lastPendingBytes;
            if (pending < last) {
                lastProgressNanos = now;
            }
            if (pending != last) {
                // written only on change: publishers' loops call this per message
                lastPendingBytes = (int) Math.min(pending, Integer.MAX_VALUE);
            }
        }
        return now - lastProgressNanos > STALL_NANOS && !kernelSentDataLately(c, now);
    }

    /**
     * Asks the kernel when it last sent data to the client (not more often than every {@link #KERNEL_ASK_MILLIS}
     * per session) and counts that as progress; true if that was less than {@link #STALL_NANOS} ago.
     */
    private boolean kernelSentDataLately(ClientChannel c, long now) {
        int nowMillis = (int) TimeUnit.NANOSECONDS.toMillis(now);
        if (c == null || nowMillis - kernelAskedAtMillis < KERNEL_ASK_MILLIS) {
            return false;
        }
        kernelAskedAtMillis = nowMillis;
        long ms = c.millisSinceDataSent();
        if (ms < 0 || TimeUnit.MILLISECONDS.toNanos(ms) >= STALL_NANOS) {
            return false;
        }
        long at = now - TimeUnit.MILLISECONDS.toNanos(ms);
        if (at - lastProgressNanos > 0) {
            lastProgressNanos = at;
        }
        return true;
    }

    /** Least time between two questions to the kernel about one session's client (see {@link #stalled()}). */
    static final int KERNEL_ASK_MILLIS = 100;

    /**
     * The connection's outbound buffer at the last {@link #stalled()} sample (an int: the buffer stops taking
     * messages at 2 MiB, and one message is at most 256 MiB).
     */
    private volatile int lastPendingBytes;
    /**
     * Milliseconds of {@link System#nanoTime()}, cut to an int, when {@link #kernelSentDataLately} last asked; any
     * thread, racy on purpose: a lost update costs one more system call.
     */
    private int kernelAskedAtMillis;

    // ------------------------------------------------------------------------------------------------ inbound QoS 2

    /** Whether an inbound QoS 2 flow with this packet id is open (PUBREC sent, PUBREL not received yet). */
    public boolean inboundQos2Open(int packetId) {
        return inboundQos2 != null && inboundQos2.contains(packetId);
    }

    /** The open inbound QoS 2 flows. */
    public int inboundQos2Count() {
        return inboundQos2 == null ? 0 : inboundQos2.size();
    }

    /** Opens the inbound QoS 2 flow of a PUBLISH with this packet id. */
    public void openInboundQos2(int packetId) {
        if (inboundQos2 == null) {
            inboundQos2 = new HashSet<>();
        }
        inboundQos2.add(packetId);
    }

    /** Ends the inbound QoS 2 flow with this packet id; false if none was open. */
    public boolean closeInboundQos2(int packetId) {
        return inboundQos2 != null && inboundQos2.remove(packetId);
    }

    // ------------------------------------------------------------------------------------------------ outbound acks

    public void onPubAck(int packetId) {
        Inflight f = inflight.get(packetId);
        if (f != null && f.state == OutState.PUBLISH_SENT) {
            lastProgressNanos = System.nanoTime();
            removeInflight(packetId);
            drain();
        } else {
            LOG.debug("Session {}: PUBACK for unknown packet id {}", clientId, packetId);
        }
    }

    public void onPubRec(int packetId, int reasonCode) {
        Inflight f = inflight.get(packetId);
        ClientChannel conn = connection;
        if (f == null) {
            if (conn != null) {
                conn.writePubRel(packetId, 0x92); // packet identifier not found
                scheduleFlush();
            }
            return;
        }
        if (reasonCode >= 0x80) {
            removeInflight(packetId); // the receiver refused the message; the flow ends here
            drain();
            return;
        }
        lastProgressNanos = System.nanoTime();
        resendNotNeeded(f); // acknowledges the copy sent on the earlier connection
        f.state = OutState.PUBREL_SENT;
        if (conn != null) {
            conn.writePubRel(packetId, 0);
            scheduleFlush();
        }
    }

    public void onPubComp(int packetId) {
        Inflight f = inflight.get(packetId);
        if (f != null && f.state == OutState.PUBREL_SENT) {
            lastProgressNanos = System.nanoTime();
            removeInflight(packetId);
            drain();
        }
    }

    /** Coalesces flushes: many writes in one loop iteration share one flush. */
    public void scheduleFlush() {
        if (!flushScheduled && connection != null) {
            flushScheduled = true;
            loop.execute(this::flush);
        }
    }

    private void flush() {
        flushScheduled = false;
        ClientChannel conn = connection;
        if (conn != null) {
            conn.flush();
        }
    }

    // ------------------------------------------------------------------------------------------------ info

    /**
     * The management API's view of this session, made when asked (not kept per session: 56 bytes less each); null
     * before its first connection attached. Runs on {@link #loop}, which owns what it reads.
     */
    public SessionInfo snapshot() {
        if (!everAttached) {
            return null;
        }
        return new SessionInfo(clientId, connection != null, protocolVersion, expiryInterval, subscriptions.size(),
                inflight.size(), queuedCount(), disconnectedAt);
    }

    /** Removes expired messages from the offline queue (run periodically by the housekeeping of {@link #loop}). */
    public void purgeExpired(long now) {
        Iterator<Delivery> it = queue.iterator();
        boolean removed = false;
        while (it.hasNext()) {
            Delivery d = it.next();
            if (d.message().isExpired(now)) {
                it.remove();
                removed = true;
                queuedBytes -= queuedSize(d);
                broker.counters().storedMessages.decrementAndGet();
            }
        }
        if (removed) {
            hasRoom();
        }
    }
}
