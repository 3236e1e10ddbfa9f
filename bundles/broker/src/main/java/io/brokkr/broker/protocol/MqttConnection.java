package io.brokkr.broker.protocol;

import io.brokkr.api.Message;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.session.Delivery;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.transport.Listener;
import io.brokkr.broker.transport.PacketInspector;
import io.brokkr.broker.transport.TlsSupport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty handler of one MQTT network connection: the Netty events, the dispatch of decoded packets, the tie to its
 * session (link, takeover, move to the session's loop), keep alive and back-pressure. The connection's state and its
 * writes are in {@link ConnectionState}, which this class extends; each packet family is handled by a stateless
 * class of this package that works on that state: {@link ConnectNegotiation} (CONNECT, CONNACK),
 * {@link InboundPublish} (PUBLISH from the client, PUBACK/PUBREC in order, PUBREL), {@link OutboundPublish} (PUBLISH
 * and PUBREL to the client) and {@link SubscribeHandling} (SUBSCRIBE, UNSUBSCRIBE). Channel-loop code decodes and
 * validates; session work runs on the session's loop (the same one once the connection is attached). Not sharable:
 * one instance per channel.
 */
public final class MqttConnection extends ConnectionState {

    private static final Logger LOG = LoggerFactory.getLogger(MqttConnection.class);

    // channel-loop confined
    private List<MqttMessage> heldBeforeConnack = new ArrayList<>();
    private boolean sendWillOnClose = true;
    /**
     * Channel-loop confined: the client closed its side (FIN; the listener allows half-closed connections) while
     * packets it sent before were still held (waiting for CONNACK or for reads to resume): the connection closes
     * once they are processed ({@link #closeIfInputEnded}), as it would have at the end of the input.
     */
    private boolean inputEnded;

    /** Not attached to a session yet. */
    private static final int UNLINKED = 0;
    /** Attached to {@link #session}: its end is still to be reported. */
    private static final int LINKED = 1;
    /** Closed before it was attached: it never will be. */
    private static final int CLOSED_UNLINKED = 2;
    /** Detached: its end was reported (by its close or by a takeover), once. */
    private static final int RELEASED = 3;
    /**
     * The tie between this connection and its session, changed only by compare-and-set: the session loop attaches
     * ({@link #link}) and takes over ({@link #release}), the channel loop closes ({@link #channelInactive}). Whoever
     * moves it from LINKED to RELEASED reports the end of the connection (stats, interceptors' onDisconnect); the
     * other one does not.
     */
    private volatile int linkState = UNLINKED;
    /** Changes {@link #linkState} (rather than an AtomicInteger per connection: 16 bytes less). */
    private static final AtomicIntegerFieldUpdater<MqttConnection> LINK =
            AtomicIntegerFieldUpdater.newUpdater(MqttConnection.class, "linkState");

    public MqttConnection(ConnectionHost broker, Listener listener) {
        super(broker, listener);
    }

    /**
     * Adds the MQTT part of a new connection's pipeline, behind the front handlers of its listener's transport:
     * the idle timer first (every read counts, also one that decodes to nothing yet), the decoder in the
     * {@link PacketInspector} and this handler last.
     */
    public static void addHandlers(ChannelPipeline p, ConnectionHost host, Listener listener) {
        BrokerConfig cfg = host.config();
        // Netty limits the Remaining Length; Maximum Packet Size counts the whole packet. A fixed header is at least
        // 2 bytes, so this refuses only packets that are certainly too large; onPublish etc. check the exact size.
        p.get(PacketInspector.class).decodeWith(DecoderPool.of(cfg.maxPacketSize() - 2, cfg.maxClientIdLength()));
        p.addLast("mqtt", new MqttConnection(host, listener));
    }

    // -------------------------------------------------------------------------------------------- netty events

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        channel = ctx.channel();
        super.channelActive(ctx);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        armConnectDeadline(broker.config().connectTimeoutSeconds());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof MqttMessage m)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        broker.counters().messagesReceived.increment();
        if (m.decoderResult().isFailure()) {
            // the decoder now skips what follows: the connection keeps it (it ends anyway), it is lent to no other
            PacketInspector inspector = ctx.pipeline().get(PacketInspector.class);
            if (inspector != null) {
                inspector.keepDecoder();
            }
        }
        if (state == State.CLOSED) {
            ReferenceCountUtil.release(m);
            return;
        }
        if (state == State.CONNECTING) {
            // pipelined packets sent right after CONNECT wait for the authentication result; so do errors in them
            // (a second CONNECT, a malformed packet): nothing but CONNACK may be the broker's first packet
            heldBeforeConnack.add(m);
            return;
        }
        processOrHold(m);
    }

    /**
     * Processes a packet, unless reads are paused by {@link #throttle}: then the packets of the read that was under
     * way wait in order until reading resumes. Without this, a publisher that pipelines its PUBLISHes would get a
     * whole read buffer of them routed (and acknowledged) past the back-pressure, overflowing the queue of the
     * subscriber that caused it.
     */
    private void processOrHold(MqttMessage m) {
        if (readPaused || holding()) {
            if (heldWhilePaused == null) {
                heldWhilePaused = new java.util.ArrayDeque<>();
            }
            heldWhilePaused.add(m);
        } else {
            process(m);
        }
    }

    /**
     * Processes the packets held while reads were paused, until they are paused again; then reads again if they
     * were not. Channel loop, as a task of its own.
     */
    private void processHeld() {
        MqttMessage m;
        while (!readPaused && holding() && (m = heldWhilePaused.peek()) != null) {
            heldWhilePaused.poll();
            if (state == State.CLOSED) {
                ReferenceCountUtil.release(m);
            } else {
                process(m);
            }
        }
        if (!readPaused && !holding() && state == State.CONNECTED) {
            channel.config().setAutoRead(true);
        }
        closeIfInputEnded();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (keepAliveMillis > 0) {
            lastReadNanos = System.nanoTime(); // each socket read, as IdleStateHandler counts them
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    void checkKeepAlive() {
        if (state == State.CLOSED || !channel.isActive()) {
            return;
        }
        long now = System.nanoTime();
        long left = TimeUnit.MILLISECONDS.toNanos(keepAliveMillis) - (now - lastReadNanos);
        if (left > 0) {
            KeepAliveTimers.current().add(this, now + left, channel.eventLoop());
            return;
        }
        LOG.info("Client {}: keep alive timeout ({} s), closing", clientId, keepAlive());
        disconnect(RC_KEEP_ALIVE_TIMEOUT, "keep alive timeout");
    }

    /** Handles one decoded packet (or decoding failure) and releases it. */
    private void process(MqttMessage m) {
        try {
            if (m.decoderResult().isFailure()) {
                onDecoderFailure(m.decoderResult().cause());
                return;
            }
            int remaining = m.fixedHeader().remainingLength();
            int size = 1 + Codec.varIntSize(remaining) + remaining;
            if (size > broker.config().maxPacketSize()) {
                onDecoderFailure(new TooLongFrameException("packet of " + size + " bytes exceeds max.packet.size "
                        + broker.config().maxPacketSize()));
                return;
            }
            dispatch(m);
        } catch (RuntimeException e) {
            LOG.warn("Client {}: error handling {}: {}", clientId, m.fixedHeader().messageType(), e.toString(), e);
            disconnect(RC_UNSPECIFIED, "internal error");
        } finally {
            ReferenceCountUtil.release(m);
        }
    }

    private void dispatch(MqttMessage m) {
        MqttMessageType type = m.fixedHeader().messageType();
        if (state == State.NEW) {
            if (type == MqttMessageType.CONNECT) {
                ConnectNegotiation.onConnect(this, (MqttConnectMessage) m);
            } else {
                // [MQTT-3.1.0-1] the first packet must be CONNECT
                LOG.info("Connection {}: first packet was {}, not CONNECT; closing", remote(), type);
                close();
            }
            return;
        }
        switch (type) {
            case PUBLISH -> InboundPublish.onPublish(this, (MqttPublishMessage) m);
            case PUBACK -> {
                int id = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
                onSession(s -> s.onPubAck(id));
            }
            case PUBREC -> {
                int id = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
                int rc = m.variableHeader() instanceof MqttPubReplyMessageVariableHeader h ? h.reasonCode() & 0xFF : 0;
                onSession(s -> s.onPubRec(id, rc));
            }
            case PUBREL -> {
                int id = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
                onSession(s -> InboundPublish.onPubRel(this, s, id));
            }
            case PUBCOMP -> {
                int id = ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
                onSession(s -> s.onPubComp(id));
            }
            case SUBSCRIBE -> SubscribeHandling.onSubscribe(this, (MqttSubscribeMessage) m);
            case UNSUBSCRIBE -> SubscribeHandling.onUnsubscribe(this, (MqttUnsubscribeMessage) m);
            case PINGREQ -> write(new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGRESP, false,
                    MqttQoS.AT_MOST_ONCE, false, 0)), true);
            case DISCONNECT -> onDisconnect(m);
            case CONNECT -> protocolError("second CONNECT");
            case AUTH -> protocolError("AUTH without an authentication method");
            default -> protocolError("unexpected " + type + " from a client");
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof ChannelInputShutdownEvent) {
            onInputEnd();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    /**
     * The client closed its side of the connection. Everything it sent before is processed first, in order, as
     * Mosquitto does: a client that writes CONNECT, PUBLISH and DISCONNECT and closes at once, without waiting for
     * CONNACK (a sensor's fire-and-forget, {@code nc}), gets its message delivered, and a DISCONNECT sent before the
     * close still suppresses the will. Those packets may be held (CONNECT is being authenticated, or reads are paused
     * by back-pressure); then the connection closes after they are processed, otherwise at once.
     */
    private void onInputEnd() {
        if (state == State.CONNECTING || (state == State.CONNECTED && holding())) {
            inputEnded = true;
        } else {
            endAfterInput();
        }
    }

    /** Closes the connection if its client closed its side and nothing it sent is held any more. */
    private void closeIfInputEnded() {
        if (inputEnded && !holding() && state == State.CONNECTED) {
            endAfterInput();
        }
    }

    private void endAfterInput() {
        channel.flush(); // what was answered to its last packets, which a half-closed client may still read
        close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (channel.isWritable()) {
            onSession(Session::onWritable);
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof java.io.IOException || cause.getCause() instanceof javax.net.ssl.SSLException) {
            // a reset, or a TLS handshake that failed (logged by TlsSupport)
            LOG.debug("Connection {} ({}): {}", remote(), clientId, cause.toString());
        } else {
            LOG.warn("Connection {} ({}): {}", remote(), clientId, cause.toString(), cause);
        }
        close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        State was = state;
        if (!ended() && was == State.CONNECTING) {
            LOG.debug("Connection {} closed during authentication", remote());
        }
        super.channelInactive(ctx);
    }

    @Override
    boolean ended() {
        state = State.CLOSED;
        if (keepAliveIndex >= 0) {
            KeepAliveTimers.current().remove(this); // the channel's loop: the one it was armed on
        }
        List<MqttMessage> held = heldBeforeConnack;
        heldBeforeConnack = new ArrayList<>(0);
        for (MqttMessage m : held) {
            ReferenceCountUtil.release(m);
        }
        for (MqttMessage m; holding() && (m = heldWhilePaused.poll()) != null; ) {
            ReferenceCountUtil.release(m);
        }
        if (!LINK.compareAndSet(this, UNLINKED, CLOSED_UNLINKED) && release()) {
            Session s = session;
            boolean sendWill = sendWillOnClose;
            BrokerConnectionContext cc = context;
            s.loop.execute(() -> broker.detach(s, this, sendWill, cc, !sendWill));
            return true;
        }
        return false;
    }

    // -------------------------------------------------------------------------------------------- decoding, link

    private void onDecoderFailure(Throwable cause) {
        if (state == State.NEW) {
            ConnectNegotiation.onMalformedConnect(this, cause);
            return;
        }
        if (cause instanceof TooLongFrameException) {
            LOG.info("Client {}: packet exceeds max.packet.size ({}), disconnecting", clientId, cause.getMessage());
            disconnect(RC_PACKET_TOO_LARGE, "packet too large");
        } else if (cause instanceof DecoderException && String.valueOf(cause.getMessage())
                .startsWith("invalid publish topic name")) {
            LOG.info("Client {}: {}, disconnecting", clientId, cause.getMessage());
            disconnect(RC_TOPIC_NAME_INVALID, "wildcard in topic name");
        } else {
            LOG.info("Client {}: malformed packet ({}), disconnecting", clientId, cause.getMessage());
            disconnect(RC_MALFORMED, "malformed packet");
        }
    }

    /** Runs on the session loop (after {@link #link}): sends CONNACK. */
    public void connected(Session s, boolean sessionPresent, ConnectionHost.ConnectParams p) {
        ConnectNegotiation.connected(this, s, sessionPresent, p);
    }

    /**
     * Attaches this connection to its session. Runs on the session loop.
     *
     * @return false if the connection closed before (it is not attached, nothing is to be reported)
     */
    public boolean link(Session s) {
        session = s;
        if (LINK.compareAndSet(this, UNLINKED, LINKED)) {
            return true;
        }
        session = null;
        return false;
    }

    /**
     * Ends the tie to the session; true for exactly one caller per attached connection, who then reports its end.
     * Any thread.
     */
    public boolean release() {
        return LINK.compareAndSet(this, LINKED, RELEASED);
    }

    /**
     * Moves this connection's channel to {@code loop} (the event loop of the session it is about to attach to), so
     * that its packets and its session's state are handled on one thread, then runs {@code then} there. Runs on the
     * channel's current loop while reads are paused (CONNECTING); nothing has been written yet. If the move fails the
     * connection is closed.
     */
    public void moveTo(io.netty.channel.EventLoop loop, Runnable then) {
        channel.deregister().addListener(d -> {
            if (!d.isSuccess()) {
                moveFailed(d.cause());
                return;
            }
            loop.register(channel).addListener(r -> {
                if (!r.isSuccess()) {
                    moveFailed(r.cause());
                    return;
                }
                if (listener.isClosed()) {
                    // its listener closed while the channel was on no loop, where Listener.close() looks for it
                    LOG.debug("Client {}: listener {} closed while the connection moved", clientId, listener.name());
                    channel.close();
                    return;
                }
                then.run();
            });
        });
    }

    private void moveFailed(Throwable cause) {
        if (channel.isOpen()) {
            LOG.warn("Client {}: cannot move the connection to its session's event loop: {}", clientId,
                    String.valueOf(cause));
        } else {
            LOG.debug("Client {}: connection closed while moving to its session's event loop", clientId);
        }
        channel.close();
    }

    @Override
    void armKeepAlive() {
        if (state != State.CLOSED && keepAliveIndex < 0) {
            KeepAliveTimers.current().add(this, lastReadNanos + TimeUnit.MILLISECONDS.toNanos(keepAliveMillis),
                    channel.eventLoop());
        }
    }

    @Override
    void afterConnack() {
        if (state != State.CONNECTING) {
            return;
        }
        state = State.CONNECTED;
        List<MqttMessage> held = heldBeforeConnack;
        heldBeforeConnack = List.of(); // only added to while CONNECTING
        for (MqttMessage m : held) {
            if (state != State.CONNECTED) {
                ReferenceCountUtil.release(m);
                continue;
            }
            processOrHold(m);
        }
        if (!readPaused) {
            channel.config().setAutoRead(true);
        }
        closeIfInputEnded();
    }

    // -------------------------------------------------------------------------------------------- back-pressure

    /** Publishers waiting for one target beyond which closed ones are removed when another one adds itself. */
    static final int MAX_WAITING_BEFORE_PRUNE = 64;
    /**
     * How often the safety net checks a pause ({@link #safetyNet}): a pause whose target made no progress in the
     * last second (a stuck subscriber) ends at the first check after that.
     */
    public static final long THROTTLE_MAX_MILLIS = 500;
    /**
     * Longest a publisher stays paused by a subscriber that is slow but not stuck (and at most half its keep alive,
     * so that the publisher's PINGREQs are answered in time).
     */
    public static final long THROTTLE_LONGEST_MILLIS = 5_000;
    /** Channel-loop confined: reads are paused by {@link #throttle}. */
    private boolean readPaused;
    /**
     * Channel-loop confined: whether a {@link #safetyNet} check is scheduled. One at a time per connection: a pause
     * that ended early leaves its check behind, and a later pause uses it instead of scheduling another.
     */
    private boolean safetyNetScheduled;
    /** Channel-loop confined: how many {@link #THROTTLE_MAX_MILLIS} of the current pause have been checked. */
    private byte pauseChecks;
    /**
     * Channel-loop confined: when the current (or last) pause began, in milliseconds of {@link System#nanoTime()}
     * cut to an int ({@link #millisNow()}; an int, not a long, keeps an idle connection 8 bytes smaller).
     */
    private int pausedAtMillis;
    /** Channel-loop confined: the target whose congestion began the current pause; null when not paused. */
    private Session pausedBy;
    /**
     * Channel-loop confined: packets decoded while reads were paused (see {@link #processOrHold}); created when the
     * first one is held (an idle connection does without the queue's 112 bytes).
     */
    private java.util.ArrayDeque<MqttMessage> heldWhilePaused;

    private boolean holding() {
        return heldWhilePaused != null && !heldWhilePaused.isEmpty();
    }

    /**
     * Stops reading this publisher because {@code target}, an online subscriber of its messages, has a long queue;
     * {@code target} resumes it when its queue drains (or it goes offline), and {@link #safetyNet} when
     * {@code target} makes no progress. Any thread.
     *
     * @return false if {@code target} had drained meanwhile: reading goes on
     */
    public boolean throttle(Session target) {
        java.util.Set<io.brokkr.broker.session.ClientChannel> waiting = target.throttled();
        if (waiting.add(this)) {
            if (waiting.size() > MAX_WAITING_BEFORE_PRUNE) {
                // a target that stays congested keeps the publishers that waited for it until it drains: those
                // that have closed since are dropped here, so the set does not grow with every publisher that
                // ever waited
                waiting.removeIf(c -> !c.channel().isOpen());
            }
            target.loop.execute(target::maybeRelease); // it may have caught up before it was marked congested
        }
        onChannelLoop(() -> {
            if (!readPaused && state == State.CONNECTED) {
                readPaused = true;
                pausedAtMillis = millisNow();
                pauseChecks = 0;
                pausedBy = target;
                broker.counters().publishersPaused.increment();
                channel.config().setAutoRead(false);
                if (!safetyNetScheduled) {
                    scheduleSafetyNet(THROTTLE_MAX_MILLIS);
                }
            }
        });
        if (!target.congested() && target.throttled().remove(this)) {
            resumeReading(); // it drained meanwhile
            return false;
        }
        return true;
    }

    /**
     * Checks a pause every {@link #THROTTLE_MAX_MILLIS} from its start, if no target has released it by then. While
     * the target that began it is slow but not stuck ({@link Session#stalled}: progress in the last second, the rule
     * by which the router stops throttling for it) the publisher stays paused, up to {@link #longestPause()}
     * (counted as extended): a subscriber reading a few MB/s takes about a second to drain its connection's 2 MiB
     * buffer to the 512 KiB mark at which its session writes again, and reading the publisher after 500 ms anyway
     * let QoS 0 messages into a queue that was still long (by hand: `mosquitto_pub -l` into a Paho subscriber
     * reading 10,000 messages a second, 26 of 640 pauses). Otherwise the publisher reads again (counted as capped:
     * back-pressure is meant to end when a target catches up, not by this safety net). A check scheduled by a pause
     * that ended early finds a later pause, or none: it then waits for that pause's own time, or ends, so it never
     * cuts a later pause short (left-over checks used to end more than half of the pauses of a saturated fan-in).
     * Channel loop.
     */
    private void safetyNet() {
        safetyNetScheduled = false;
        if (!readPaused || state != State.CONNECTED) {
            return; // not paused, or closed meanwhile: nothing to count
        }
        int elapsed = millisNow() - pausedAtMillis;
        long due = (pauseChecks + 1) * THROTTLE_MAX_MILLIS;
        if (elapsed < due) {
            scheduleSafetyNet(due - elapsed);
            return;
        }
        Session t = pausedBy;
        if (t != null && due + THROTTLE_MAX_MILLIS <= longestPause() && !t.stalled()) {
            pauseChecks++;
            broker.counters().publisherPausesExtended.increment();
            scheduleSafetyNet(THROTTLE_MAX_MILLIS);
            return;
        }
        broker.counters().publisherPausesCapped.increment();
        resumeReading();
    }

    private void scheduleSafetyNet(long millis) {
        safetyNetScheduled = true;
        channel.eventLoop().schedule(this::safetyNet, millis, TimeUnit.MILLISECONDS);
    }

    /** {@link #THROTTLE_LONGEST_MILLIS}, at most half the keep alive, at least {@link #THROTTLE_MAX_MILLIS}. */
    private long longestPause() {
        long halfKeepAlive = keepAliveMillis / 3; // keepAliveMillis is the timeout, 1.5 times the keep alive
        return keepAliveMillis <= 0 ? THROTTLE_LONGEST_MILLIS
                : Math.max(THROTTLE_MAX_MILLIS, Math.min(THROTTLE_LONGEST_MILLIS, halfKeepAlive));
    }

    /** Milliseconds of {@link System#nanoTime()} cut to an int: differences are right for up to 24 days. */
    private static int millisNow() {
        return (int) TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
    }

    /** Reads again after {@link #throttle}. Any thread. */
    public void resumeReading() {
        onChannelLoop(() -> {
            if (readPaused) {
                readPaused = false;
                pausedBy = null;
                if (holding()) {
                    // not from here: this may run inside the handling of a PUBLISH, before its PUBACK is written
                    channel.eventLoop().execute(this::processHeld);
                } else if (state == State.CONNECTED) {
                    channel.config().setAutoRead(true);
                }
            }
        });
    }

    private void onChannelLoop(Runnable r) {
        if (channel.eventLoop().inEventLoop()) {
            r.run();
        } else {
            channel.eventLoop().execute(r);
        }
    }

    /**
     * Called on the session loop when another connection took this one's session over (the broker decided about
     * the will already; whether this connection's end is reported here or by its close is decided by
     * {@link #release}).
     */
    public void takenOver() {
        channel.eventLoop().execute(() -> disconnect(RC_SESSION_TAKEN_OVER, "session taken over"));
    }

    // -------------------------------------------------------------------------------------------- DISCONNECT

    private void onDisconnect(MqttMessage m) {
        int rc = 0;
        if (m.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader h) {
            rc = h.reasonCode() & 0xFF;
            Long newExpiry = Codec.uintProp(h.properties(), MqttPropertyType.SESSION_EXPIRY_INTERVAL);
            if (newExpiry != null) {
                if (connectSessionExpiryZero && newExpiry != 0) {
                    // [MQTT-3.14.2-2]
                    protocolError("session expiry set on DISCONNECT after 0 at CONNECT");
                    return;
                }
                long capped = Math.min(newExpiry, broker.config().sessionExpiryMax());
                Session s = session;
                if (s != null) {
                    s.loop.execute(() -> {
                        if (s.connection == this) {
                            s.expiryInterval = capped;
                        }
                    });
                }
            }
        }
        sendWillOnClose = rc == RC_DISCONNECT_WITH_WILL;
        close();
    }

    // -------------------------------------------------------------------------------------------- outbound

    /**
     * Writes a PUBLISH (no flush). Runs on the session loop.
     *
     * @return false if the packet exceeds the client's Maximum Packet Size and was not sent
     */
    @Override
    public boolean writePublish(Delivery d, int packetId, boolean dup) {
        return OutboundPublish.writePublish(this, d, packetId, dup);
    }

    /**
     * Appends a retained QoS 0 PUBLISH for an MQTT 3.1/3.1.1 client to a batch that {@link #endRetainedBatch()}
     * writes (no flush). Runs on the session loop.
     */
    @Override
    public void writeRetainedQos0(Message m) {
        OutboundPublish.writeRetainedQos0(this, m);
    }

    /** Writes what {@link #writeRetainedQos0} encoded (no flush). */
    @Override
    public void endRetainedBatch() {
        OutboundPublish.endRetainedBatch(this);
    }

    public void writePubRel(int packetId, int rc) {
        OutboundPublish.writePubReply(this, MqttMessageType.PUBREL, packetId, rc);
    }

    /** The listener that accepted this connection. */
    public Listener listener() {
        return listener;
    }

    /**
     * The broker or this connection's listener shuts down: an MQTT 5 client that has its CONNACK gets DISCONNECT
     * 0x8B (Server shutting down), then the connection closes; others are just closed. Any thread.
     *
     * @return the channel's close future
     */
    public ChannelFuture shutdown() {
        onChannelLoop(() -> {
            if (state == State.CONNECTED) {
                disconnect(RC_SERVER_SHUTTING_DOWN, "server shutting down");
            } else {
                channel.close();
            }
        });
        return channel.closeFuture();
    }

    /**
     * Runs journal completions for messages of this event loop's connections, then writes the acknowledgements they
     * made ready, once per connection (see {@code InboundPublish.runCollectingAcks}). Event loop.
     */
    public static void runCollectingAcks(Runnable completions) {
        InboundPublish.runCollectingAcks(completions);
    }
}
