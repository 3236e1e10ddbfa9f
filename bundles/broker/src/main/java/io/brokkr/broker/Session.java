package io.brokkr.broker;

import io.brokkr.api.Message;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.api.SessionInfo;
import io.netty.channel.EventLoop;
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
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state of one client session. Every field is confined to {@link #loop}, the event loop the session is pinned
 * to (that of the connection that created it), so no locks are needed: other threads hand work to the session with {@code loop.execute}.
 */
final class Session {

    private static final Logger LOG = LoggerFactory.getLogger(Session.class);

    enum OutState { PUBLISH_SENT, PUBREL_SENT }

    static final class Inflight {
        final Delivery delivery;
        OutState state = OutState.PUBLISH_SENT;
        /** Sent on an earlier connection, not yet resent on this one (the client's Receive Maximum was full). */
        boolean awaitingResend;

        Inflight(Delivery delivery) {
            this.delivery = delivery;
        }
    }

    /**
     * QoS 0 deliveries handed to this session's loop by other loops and not run yet, above which further QoS 0
     * messages are dropped on the publisher's loop (slow consumer) rather than queued as tasks without bound.
     */
    static final int MAX_PENDING_QOS0 = 4096;

    /**
     * Publisher back-pressure: once this many QoS 1/2 messages wait behind the inflight window of an online session
     * (at most half of max.queued.messages), connections publishing to it stop being read until the queue is down
     * to a quarter of that. A fast publisher thus slows to the pace of its slowest online QoS 1/2 subscriber instead
     * of overflowing its queue, where acknowledged messages would be dropped.
     */
    static final int THROTTLE_QUEUE = 1000;

    final String clientId;
    final EventLoop loop;
    /** Set on {@link #loop} when the queue of this online session is long (see {@link #THROTTLE_QUEUE}). */
    volatile boolean congested;
    /**
     * A session whose client has not acknowledged anything for this long is stuck rather than slow: it no longer
     * throttles the publishers of its QoS 1/2 messages (its queue fills up to max.queued.messages as without
     * back-pressure), so that one stuck client cannot slow its publishers down until its keep alive runs out.
     */
    static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** {@link System#nanoTime()} of the last PUBACK, PUBREC or PUBCOMP that ended or advanced a flow (or attach). */
    private volatile long lastAckNanos = System.nanoTime();
    /**
     * Publishing connections paused because of this session; resumed when it is no longer congested. Created on
     * first use (few sessions ever get congested): see {@link #throttled()}.
     */
    private volatile Set<MqttConnection> throttled;
    /** Deliveries handed to {@link #loop} by other threads and not run yet (any thread). */
    final AtomicInteger pendingDeliveries = new AtomicInteger();
    final int loopIndex;
    private final Broker broker;

    /** Subscriptions by full filter (with $share prefix). */
    final Map<String, Subscription> subscriptions = new HashMap<>();
    /** Outbound QoS 1/2 messages awaiting acknowledgement, in send order. */
    final LinkedHashMap<Integer, Inflight> inflight = new LinkedHashMap<>();
    /** Messages waiting for the inflight window or for the client to come back. */
    final ArrayDeque<Delivery> queue = new ArrayDeque<>();
    /** Inbound QoS 2 packet ids received (PUBREC sent) and not yet released. */
    final Set<Integer> inboundQos2 = new HashSet<>();

    volatile MqttConnection connection;
    volatile boolean online;
    ProtocolVersion protocolVersion = ProtocolVersion.MQTT_3_1_1;
    long expiryInterval;
    long disconnectedAt;
    boolean ended;
    /** False until the first connection attached (a fresh session has nothing to clean). */
    boolean everAttached;

    private Message will;
    private long willDelay;
    private ScheduledFuture<?> willTask;
    private ScheduledFuture<?> expiryTask;
    private int nextPacketId = 1;
    /** Inflight entries with {@link Inflight#awaitingResend} set. */
    private int awaitingResend;
    private boolean flushScheduled;
    private long droppedLogged;

    // snapshot for the management API (read from other threads)
    volatile SessionInfo info;

    Session(Broker broker, String clientId, EventLoop loop, int loopIndex) {
        this.broker = broker;
        this.clientId = clientId;
        this.loop = loop;
        this.loopIndex = loopIndex;
    }

    boolean connected() {
        return connection != null;
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /** Attaches a new connection (the old one, if any, has been detached). Returns true if state was resumed. */
    void attach(MqttConnection conn, long expiry, Message newWill, long newWillDelay) {
        cancelExpiry();
        if (willTask != null) {
            // reconnected within the will delay: the pending will is not sent [MQTT-3.1.3-9]
            willTask.cancel(false);
            willTask = null;
        }
        this.connection = conn;
        this.online = true;
        this.lastAckNanos = System.nanoTime();
        this.protocolVersion = conn.protocolVersion();
        this.expiryInterval = expiry;
        this.will = newWill;
        this.willDelay = newWillDelay;
        this.disconnectedAt = 0;
        updateInfo();
    }

    /** Sends what was unacknowledged (DUP) and what was queued; called right after CONNACK. */
    void resume() {
        MqttConnection conn = connection;
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
    private void resendAwaiting(MqttConnection conn) {
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
    void detach(MqttConnection conn, boolean sendWill) {
        if (connection != conn) {
            return; // taken over already
        }
        connection = null;
        online = false;
        releaseThrottled(); // offline sessions queue up to max.queued.messages and slow nobody down
        disconnectedAt = System.currentTimeMillis();
        Message w = will;
        will = null;
        if (w != null && sendWill) {
            if (willDelay == 0 || expiryInterval == 0) {
                broker.publishWill(w);
            } else {
                long delay = Math.min(willDelay, expiryInterval);
                willTask = loop.schedule(() -> {
                    willTask = null;
                    broker.publishWill(w);
                }, delay, TimeUnit.SECONDS);
                pendingWill = w;
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
        updateInfo();
    }

    private Message pendingWill;

    /** Ends the session: a pending delayed will is published now [MQTT-3.1.3-9]. Called by Broker.endSession. */
    void end() {
        ended = true;
        releaseThrottled();
        cancelExpiry();
        if (willTask != null) {
            willTask.cancel(false);
            willTask = null;
            if (pendingWill != null) {
                broker.publishWill(pendingWill);
            }
        }
        pendingWill = null;
        broker.stats.storedMessages.addAndGet(-queue.size());
        queue.clear();
        inflight.clear();
        retainedPending = null;
        awaitingResend = 0;
        inboundQos2.clear();
    }

    /**
     * Takes the messages this session holds for shared subscriptions out of its queue and (if {@code inflightToo})
     * out of its inflight window, oldest first, so that they can go to other members of their groups. Inflight QoS 2
     * messages whose PUBREC came already stay: the client has them. Runs on {@link #loop}.
     *
     * @param only the shared subscription whose messages are taken, or null for those of all shared subscriptions
     */
    java.util.List<Delivery> takeShared(Subscription only, boolean inflightToo) {
        java.util.List<Delivery> out = new java.util.ArrayList<>();
        if (inflightToo) {
            for (Iterator<Inflight> it = inflight.values().iterator(); it.hasNext(); ) {
                Inflight f = it.next();
                if (f.state == OutState.PUBLISH_SENT && isShared(f.delivery, only)) {
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
                broker.stats.storedMessages.decrementAndGet();
            }
        }
        if (!out.isEmpty() && !ended) {
            maybeRelease();
            updateInfoLater();
        }
        return out;
    }

    private static boolean isShared(Delivery d, Subscription only) {
        Subscription s = d.shared();
        return s != null && (only == null
                || (s.shareGroup().equals(only.shareGroup()) && s.filter().equals(only.filter())));
    }

    /** Discards a delayed will without publishing it (new connection with clean start, or takeover resumed). */
    void cancelPendingWill() {
        if (willTask != null) {
            willTask.cancel(false);
            willTask = null;
        }
        pendingWill = null;
    }

    private void cancelExpiry() {
        if (expiryTask != null) {
            expiryTask.cancel(false);
            expiryTask = null;
        }
    }

    /** The will of the current connection (for takeover handling). */
    Message will() {
        return will;
    }

    long willDelay() {
        return willDelay;
    }

    /** Another connection takes this session over: forget the old connection; the broker handles its will. */
    void takeOver() {
        connection = null;
        online = false;
        will = null;
        releaseThrottled();
        outboundReset();
    }

    private void outboundReset() {
        flushScheduled = false;
    }

    // ------------------------------------------------------------------------------------------------ outbound

    /** Delivers or queues a message. Runs on {@link #loop}. */
    void deliver(Delivery d) {
        if (ended) {
            if (d.shared() != null) {
                broker.redispatchShared(d); // chosen for a shared subscription just before this session ended
            }
            return;
        }
        MqttConnection conn = connection;
        if (conn == null) {
            if (d.qos() == 0 && !broker.config().queueQos0()) {
                return;
            }
            enqueue(d);
            return;
        }
        if (d.qos() == 0) {
            conn.writePublish(d, 0, false);
            scheduleFlush();
            return;
        }
        if (queue.isEmpty() && inflight.size() < conn.inflightWindow()) {
            sendInflight(conn, d);
            scheduleFlush();
        } else {
            enqueue(d);
        }
    }

    private void enqueue(Delivery d) {
        if (queue.size() >= broker.config().maxQueuedMessages()) {
            broker.stats.publishDropped.increment();
            long dropped = broker.stats.publishDropped.sum();
            if (dropped - droppedLogged >= 1000 || droppedLogged == 0) {
                droppedLogged = dropped;
                LOG.warn("Session {}: queue full ({} messages, max.queued.messages), dropping message on '{}'",
                        clientId, queue.size(), d.message().topic());
            }
            return;
        }
        queue.add(d);
        broker.stats.storedMessages.incrementAndGet();
        if (!congested && online && queue.size() >= throttleHigh()) {
            congested = true;
        }
        updateInfoLater();
    }

    private int throttleHigh() {
        return Math.max(1, Math.min(THROTTLE_QUEUE, broker.config().maxQueuedMessages() / 2));
    }

    /** The set of throttled publishers, created if needed. Any thread. */
    Set<MqttConnection> throttled() {
        Set<MqttConnection> t = throttled;
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
    void deliverFromOtherLoop(Delivery d) {
        pendingDeliveries.incrementAndGet();
        try {
            loop.execute(() -> {
                pendingDeliveries.decrementAndGet();
                deliver(d);
                maybeRelease();
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            pendingDeliveries.decrementAndGet();
            throw e;
        }
    }

    /**
     * Ends congestion once the session keeps up again: its QoS 1/2 queue is down to a quarter of the threshold and
     * few deliveries are on their way to its loop. Runs on {@link #loop}.
     */
    void maybeRelease() {
        if (congested && queue.size() <= throttleHigh() / 4 && pendingDeliveries.get() < MAX_PENDING_QOS0 / 4) {
            releaseThrottled();
        }
    }

    /** Resumes the publishers throttled because of this session. Runs on {@link #loop}. */
    private void releaseThrottled() {
        congested = false;
        Set<MqttConnection> t = throttled; // a publisher that adds itself after this re-checks congested itself
        if (t != null && !t.isEmpty()) {
            Iterator<MqttConnection> it = t.iterator();
            while (it.hasNext()) {
                MqttConnection c = it.next();
                it.remove();
                c.resumeReading();
            }
        }
    }

    private void sendInflight(MqttConnection conn, Delivery d) {
        int id = nextPacketId();
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
    void drain() {
        MqttConnection conn = connection;
        if (conn == null) {
            return;
        }
        resendAwaiting(conn);
        long now = System.currentTimeMillis();
        int window = conn.inflightWindow();
        while (!queue.isEmpty() && inflight.size() < window) {
            Delivery d = queue.poll();
            broker.stats.storedMessages.decrementAndGet();
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
        updateInfoLater();
    }

    // ------------------------------------------------------------------------------------------------ retained

    /** Retained messages still to be sent after SUBSCRIBEs, oldest subscription first; null when none. */
    private ArrayDeque<RetainedCursor> retainedPending;

    /**
     * Sends the retained messages a subscription matched, paced: as many as the socket and the inflight window
     * take now, the rest when the socket becomes writable again or acknowledgements come. A new SUBSCRIBE to the
     * same filter replaces what is still pending for it. Runs on {@link #loop}.
     */
    void sendRetained(Subscription sub, java.util.List<Message> matched) {
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
    void dropRetained(String filter) {
        if (retainedPending != null) {
            retainedPending.removeIf(c -> c.filter.equals(filter));
            if (retainedPending.isEmpty()) {
                retainedPending = null;
            }
        }
    }

    /** Retained messages still to be sent after SUBSCRIBEs. Runs on {@link #loop}. */
    int retainedPending() {
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
    void pumpRetained() {
        MqttConnection conn = connection;
        if (retainedPending == null || conn == null) {
            return;
        }
        io.netty.channel.Channel ch = conn.channel();
        io.brokkr.api.storage.RetainedStore store = broker.retainedStores.current();
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
                        broker.retainedStores.remove(m.topic());
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

    /** True if congested by a client that is stuck rather than slow (see {@link #STALL_NANOS}). Any thread. */
    boolean stalled() {
        return System.nanoTime() - lastAckNanos > STALL_NANOS;
    }

    void onPubAck(int packetId) {
        Inflight f = inflight.get(packetId);
        if (f != null && f.state == OutState.PUBLISH_SENT) {
            lastAckNanos = System.nanoTime();
            removeInflight(packetId);
            drain();
        } else {
            LOG.debug("Session {}: PUBACK for unknown packet id {}", clientId, packetId);
        }
    }

    void onPubRec(int packetId, int reasonCode) {
        Inflight f = inflight.get(packetId);
        MqttConnection conn = connection;
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
        lastAckNanos = System.nanoTime();
        resendNotNeeded(f); // acknowledges the copy sent on the earlier connection
        f.state = OutState.PUBREL_SENT;
        if (conn != null) {
            conn.writePubRel(packetId, 0);
            scheduleFlush();
        }
    }

    void onPubComp(int packetId) {
        Inflight f = inflight.get(packetId);
        if (f != null && f.state == OutState.PUBREL_SENT) {
            lastAckNanos = System.nanoTime();
            removeInflight(packetId);
            drain();
        }
    }

    /** Coalesces flushes: many writes in one loop iteration share one flush. */
    void scheduleFlush() {
        if (!flushScheduled && connection != null) {
            flushScheduled = true;
            loop.execute(this::flush);
        }
    }

    private void flush() {
        flushScheduled = false;
        MqttConnection conn = connection;
        if (conn != null) {
            conn.flush();
        }
    }

    // ------------------------------------------------------------------------------------------------ info

    private boolean infoUpdatePending;

    private void updateInfoLater() {
        if (!infoUpdatePending) {
            infoUpdatePending = true;
            loop.schedule(() -> {
                infoUpdatePending = false;
                updateInfo();
            }, 200, TimeUnit.MILLISECONDS);
        }
    }

    void updateInfo() {
        info = new SessionInfo(clientId, connection != null, protocolVersion, expiryInterval, subscriptions.size(),
                inflight.size(), queue.size(), disconnectedAt);
    }

    /** Removes expired messages from the offline queue (run periodically). */
    void purgeExpired(long now) {
        Iterator<Delivery> it = queue.iterator();
        while (it.hasNext()) {
            if (it.next().message().isExpired(now)) {
                it.remove();
                broker.stats.storedMessages.decrementAndGet();
            }
        }
    }
}
