package io.brokkr.broker.protocol;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.Message;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.QueueFullPolicy;
import io.brokkr.broker.routing.RouteResult;
import io.brokkr.broker.session.ClientChannel;
import io.brokkr.broker.session.Delivery;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.transport.Listener;
import io.brokkr.broker.transport.PacketInspector;
import io.brokkr.broker.transport.ProxyProtocolHandler;
import io.brokkr.broker.transport.TlsSupport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttProperties.StringProperty;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT network connection: its state, the Netty events, the dispatch of decoded packets, the tie to its session
 * (link, takeover, move to the session's loop), keep alive, back-pressure and writes. Each packet family is handled
 * by a stateless class of this package that works on this state: {@link ConnectNegotiation} (CONNECT, CONNACK),
 * {@link InboundPublish} (PUBLISH from the client, PUBACK/PUBREC in order, PUBREL), {@link OutboundPublish} (PUBLISH
 * and PUBREL to the client) and {@link SubscribeHandling} (SUBSCRIBE, UNSUBSCRIBE). Channel-loop code decodes and
 * validates; session work runs on the session's loop (the same one once the connection is attached). Not sharable:
 * one instance per channel.
 */
public final class MqttConnection extends ChannelInboundHandlerAdapter implements ClientChannel {

    private static final Logger LOG = LoggerFactory.getLogger(MqttConnection.class);
    public static final String IDLE_HANDLER = "idle";
    /** Netty's own attribute for the protocol version, read by MqttEncoder (MqttCodecUtil.MQTT_VERSION_KEY). */
    static final AttributeKey<MqttVersion> MQTT_VERSION_KEY = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

    // reason codes used below
    public static final int RC_NORMAL = 0x00;
    public static final int RC_DISCONNECT_WITH_WILL = 0x04;
    public static final int RC_NO_MATCHING_SUBSCRIBERS = RouteResult.RC_NO_MATCHING_SUBSCRIBERS;
    public static final int RC_NO_SUBSCRIPTION_EXISTED = 0x11;
    public static final int RC_UNSPECIFIED = 0x80;
    public static final int RC_MALFORMED = 0x81;
    public static final int RC_PROTOCOL_ERROR = 0x82;
    public static final int RC_NOT_AUTHORIZED = 0x87;
    public static final int RC_SERVER_SHUTTING_DOWN = 0x8B;
    public static final int RC_KEEP_ALIVE_TIMEOUT = 0x8D;
    public static final int RC_SESSION_TAKEN_OVER = 0x8E;
    public static final int RC_TOPIC_FILTER_INVALID = 0x8F;
    public static final int RC_TOPIC_NAME_INVALID = 0x90;
    public static final int RC_PACKET_ID_IN_USE = 0x91;
    public static final int RC_PACKET_ID_NOT_FOUND = 0x92;
    public static final int RC_RECEIVE_MAXIMUM_EXCEEDED = 0x93;
    public static final int RC_TOPIC_ALIAS_INVALID = 0x94;
    public static final int RC_PACKET_TOO_LARGE = 0x95;
    public static final int RC_QUOTA_EXCEEDED = RouteResult.RC_QUOTA_EXCEEDED;
    public static final int RC_ADMINISTRATIVE_ACTION = 0x98;
    public static final int RC_PAYLOAD_FORMAT_INVALID = 0x99;
    public static final int RC_RETAIN_NOT_SUPPORTED = 0x9A;
    public static final int RC_QOS_NOT_SUPPORTED = 0x9B;
    public static final int RC_SHARED_NOT_SUPPORTED = 0x9E;
    public static final int RC_SUBSCRIPTION_IDS_NOT_SUPPORTED = 0xA1;

    enum State { NEW, CONNECTING, CONNECTED, CLOSED }

    final ConnectionHost broker;
    final Listener listener;
    Channel channel;
    State state = State.NEW;

    ProtocolVersion version = ProtocolVersion.MQTT_3_1_1;
    /** Of the CONNECT; set before {@link #connectedAt}, which publishes it (and the rest of the CONNECT state). */
    boolean cleanStart;
    /**
     * When the CONNECT was accepted (epoch millis), 0 before: written last, after everything {@link #info()} reads,
     * and read first by it.
     */
    volatile long connectedAt;
    /** Created at CONNECT, before authentication; the same object for every extension call of this connection. */
    volatile BrokerConnectionContext context;
    private volatile Session session;
    String clientId;

    // negotiated at CONNECT (immutable afterwards)
    int clientReceiveMaximum = 65_535;
    long clientMaximumPacketSize = Long.MAX_VALUE;
    int clientTopicAliasMaximum;
    boolean connectSessionExpiryZero;

    // session-loop confined; created on first use (most clients use no topic aliases)
    Map<Integer, String> inboundAliases;
    Map<String, Integer> outboundAliases;

    // channel-loop confined
    private List<MqttMessage> heldBeforeConnack = new ArrayList<>();
    private boolean sendWillOnClose = true;

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
    /** SUBSCRIBE packets received (for {@link PacketInspector#badSubscribe}). */
    int subscribeCount;

    /*
     * Keep alive [MQTT-3.1.2-22], timed here rather than by an IdleStateHandler (which costs an idle connection about
     * 260 bytes of heap with its pipeline context and timer tasks): the time of the last socket read, the allowed
     * silence (one and a half times the keep alive) and the timer, kept by the KeepAliveTimers of the connection's
     * (session) loop: when it is next checked and its place there (-1: not armed).
     */
    long lastReadNanos;
    int keepAliveMillis; // an int, not nanoseconds in a long: the object stays small
    long keepAliveCheckAt;
    int keepAliveIndex = -1;

    public MqttConnection(ConnectionHost broker, Listener listener) {
        this.broker = broker;
        this.listener = listener;
    }

    /**
     * Adds the MQTT part of a new connection's pipeline, behind the front handlers of its listener's transport:
     * the idle timer first (every read counts, also one that decodes to nothing yet), the decoder in the
     * {@link PacketInspector} and this handler last.
     */
    public static void addHandlers(ChannelPipeline p, ConnectionHost host, Listener listener) {
        BrokerConfig cfg = host.config();
        p.addFirst(IDLE_HANDLER, new IdleStateHandler(Listener.CONNECT_TIMEOUT_SECONDS, 0, 0, TimeUnit.SECONDS));
        // Netty limits the Remaining Length; Maximum Packet Size counts the whole packet. A fixed header is at least
        // 2 bytes, so this refuses only packets that are certainly too large; onPublish etc. check the exact size.
        p.get(PacketInspector.class).decodeWith(new MqttDecoder(cfg.maxPacketSize() - 2, cfg.maxClientIdLength()));
        p.addLast("mqtt", new MqttConnection(host, listener));
    }

    public ProtocolVersion protocolVersion() {
        return version;
    }

    public boolean isV5() {
        return version == ProtocolVersion.MQTT_5;
    }

    /**
     * The management view of this connection, or null before its CONNECT was accepted. Made on each call from the
     * connection's own fields rather than kept: an idle connection does without the object and its address string
     * (about 100 bytes). Any thread.
     */
    public ClientInfo info() {
        long at = connectedAt;
        if (at == 0) {
            return null;
        }
        return new ClientInfo(clientId, context.username(), remote(), listener.name(), version, cleanStart,
                keepAlive(), at);
    }

    /** The keep alive in force (the client's, or the server's cap), in seconds. */
    private int keepAlive() {
        return keepAliveMillis / 1500;
    }

    /** The extensions' view of this connection; null before CONNECT. */
    public BrokerConnectionContext context() {
        return context;
    }

    public Channel channel() {
        return channel;
    }

    public String clientId() {
        return clientId;
    }

    /** Outbound inflight window: min(server max.inflight, client Receive Maximum). */
    public int inflightWindow() {
        return Math.min(broker.config().maxInflight(), clientReceiveMaximum);
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
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof MqttMessage m)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        broker.counters().messagesReceived.increment();
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
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (keepAliveMillis > 0) {
            lastReadNanos = System.nanoTime(); // each socket read, as IdleStateHandler counts them
        }
        ctx.fireChannelReadComplete();
    }

    /**
     * The keep alive timer (run by {@link KeepAliveTimers} on the channel's loop): closes the connection after
     * {@link #keepAliveMillis} without a read, else re-arms.
     */
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
        if (evt instanceof IdleStateEvent) {
            if (state == State.CONNECTED) {
                LOG.info("Client {}: keep alive timeout ({} s), closing", clientId, keepAlive());
                disconnect(RC_KEEP_ALIVE_TIMEOUT, "keep alive timeout");
            } else {
                LOG.info("Connection {}: no CONNECT within the connect timeout, closing", remote());
                close();
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (channel.isWritable()) {
            onSession(Session::onWritable);
        }
        super.channelWritabilityChanged(ctx);
    }

    /** The socket takes more without buffering beyond the high water mark. Any thread. */
    public boolean isWritable() {
        return channel.isWritable();
    }

    /** Bytes written to the channel and not yet to the socket. Any thread. */
    public long pendingWriteBytes() {
        io.netty.channel.ChannelOutboundBuffer b = channel.unsafe().outboundBuffer();
        return b == null ? 0 : b.totalPendingWriteBytes();
    }

    /** The queue.full.policy of this connection's listener, or null. */
    public QueueFullPolicy listenerQueueFullPolicy() {
        return listener.config().queueFullPolicy();
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
        } else if (was == State.CONNECTING) {
            LOG.debug("Connection {} closed during authentication", remote());
        }
        super.channelInactive(ctx);
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

    /**
     * Netty decodes UTF-8 strings leniently: ill-formed sequences (also encoded surrogates) become U+FFFD. A string
     * holding U+FFFD or U+0000 therefore came from bytes that MQTT calls malformed (a literal U+FFFD sent by a client
     * is refused too: the broker cannot tell the two apart).
     */
    static boolean decodedFromInvalidUtf8(String s) {
        return s != null && (s.indexOf('\uFFFD') >= 0 || s.indexOf('\u0000') >= 0);
    }

    /** What the session loop needs to complete a CONNECT. */
    public record ConnectParams(boolean cleanStart, long sessionExpiry, boolean expiryCapped, boolean assignedId,
                                Integer serverKeepAlive, Message will, long willDelay) {
    }

    /** Runs on the session loop (after {@link #link}): sends CONNACK. */
    public void connected(Session s, boolean sessionPresent, ConnectParams p) {
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

    /** Arms the keep alive timer. Channel loop. */
    void armKeepAlive() {
        if (state != State.CLOSED && keepAliveIndex < 0) {
            KeepAliveTimers.current().add(this, lastReadNanos + TimeUnit.MILLISECONDS.toNanos(keepAliveMillis),
                    channel.eventLoop());
        }
    }

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
    }

    // -------------------------------------------------------------------------------------------- back-pressure

    /** Longest a publisher stays paused by one congested subscriber before it is read again (a safety net). */
    public static final long THROTTLE_MAX_MILLIS = 500;
    /** Channel-loop confined: reads are paused by {@link #throttle}. */
    private boolean readPaused;
    /**
     * Channel-loop confined: packets decoded while reads were paused (see {@link #processOrHold}); created when the
     * first one is held (an idle connection does without the queue's 112 bytes).
     */
    private java.util.ArrayDeque<MqttMessage> heldWhilePaused;

    private boolean holding() {
        return heldWhilePaused != null && !heldWhilePaused.isEmpty();
    }

    /**
     * Stops reading this publisher because {@code target}, an online subscriber of its messages, has a long QoS 1/2
     * queue; {@code target} resumes it when its queue drains (or it goes offline), at the latest after
     * {@link #THROTTLE_MAX_MILLIS}. Any thread.
     */
    public void throttle(Session target) {
        if (target.throttled().add(this)) {
            target.loop.execute(target::maybeRelease); // it may have caught up before it was marked congested
        }
        onChannelLoop(() -> {
            if (!readPaused && state == State.CONNECTED) {
                readPaused = true;
                broker.counters().publishersPaused.increment();
                channel.config().setAutoRead(false);
                channel.eventLoop().schedule(this::resumeReading, THROTTLE_MAX_MILLIS, TimeUnit.MILLISECONDS);
            }
        });
        if (!target.congested() && target.throttled().remove(this)) {
            resumeReading(); // it drained meanwhile
        }
    }

    /** Reads again after {@link #throttle}. Any thread. */
    public void resumeReading() {
        onChannelLoop(() -> {
            if (readPaused) {
                readPaused = false;
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

    // -------------------------------------------------------------------------------------------- InboundPublish's

    /**
     * PUBACK/PUBREC of inbound PUBLISHes whose routing has not completed, and those behind them, in the order the
     * PUBLISHes came [MQTT-4.6.0-2]; confined to the session loop. Created on first use.
     */
    java.util.ArrayDeque<InboundPublish.PendingAck> pendingAcks;
    /** QoS 1 entries of {@link #pendingAcks}: they count against the broker's Receive Maximum. */
    int pendingQos1Acks;
    /**
     * 1 while a task that writes the ready acknowledgements is queued on the session loop, so that the routings
     * completed by one journal batch (on the journal's thread) cost one task per publisher, not one per message.
     */
    volatile int ackTaskQueued;
    static final AtomicIntegerFieldUpdater<MqttConnection> ACK_TASK =
            AtomicIntegerFieldUpdater.newUpdater(MqttConnection.class, "ackTaskQueued");

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

    /** Retained QoS 0 PUBLISHes encoded by {@link #writeRetainedQos0} and not written to the channel yet. */
    ByteBuf retainedBatch;

    /** True when {@link #writeRetainedQos0} may be used: MQTT 3.1/3.1.1 (no properties, aliases or size limit). */
    public boolean rawRetainedQos0() {
        return !isV5();
    }

    public void writePubRel(int packetId, int rc) {
        OutboundPublish.writePubReply(this, MqttMessageType.PUBREL, packetId, rc);
    }

    void write(MqttMessage m, boolean flush) {
        broker.counters().messagesSent.increment();
        send(m, flush, channel.voidPromise());
    }

    /**
     * Writes a packet (or bytes) to the client: encoded here by {@link PublishEncoder}, which is not a pipeline
     * handler (a handler context less per connection, 56 bytes), then written on through the handlers in front of
     * this one. Any thread, like {@link Channel#write}: the write itself happens on the channel's loop, in order.
     */
    ChannelFuture send(Object msg, boolean flush, ChannelPromise promise) {
        ChannelHandlerContext ctx = channel.pipeline().context(this);
        if (ctx == null) {
            // removed with the pipeline of a closed channel: the write fails there (and releases msg)
            return flush ? channel.writeAndFlush(msg, promise) : channel.write(msg, promise);
        }
        try {
            PublishEncoder.INSTANCE.write(ctx, msg, promise);
        } catch (Throwable t) {
            promise.tryFailure(t); // as the pipeline does when a handler's write throws
        }
        if (flush) {
            ctx.flush();
        }
        return promise;
    }

    public void flush() {
        channel.flush();
    }

    /** Sends DISCONNECT with a reason code (MQTT 5 only) and closes. Safe from any thread. */
    public void disconnect(int reasonCode, String reason) {
        if (!channel.eventLoop().inEventLoop()) {
            channel.eventLoop().execute(() -> disconnect(reasonCode, reason));
            return;
        }
        if (state == State.CLOSED) {
            channel.close(); // closed or closing already: at most one DISCONNECT
            return;
        }
        boolean wasNew = state == State.NEW;
        boolean sendDisconnect = isV5() && !wasNew && channel.isActive();
        state = State.CLOSED; // packets still in flight from the client are not processed any more
        if (sendDisconnect) {
            MqttProperties props = MqttProperties.NO_PROPERTIES;
            if (reason != null) {
                props = new MqttProperties();
                props.add(new StringProperty(MqttPropertyType.REASON_STRING.value(), reason));
            }
            MqttMessage d = new MqttMessage(
                    new MqttFixedHeader(MqttMessageType.DISCONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0),
                    new MqttReasonCodeAndPropertiesVariableHeader((byte) reasonCode, props));
            broker.counters().messagesSent.increment();
            closeAfterFlush(send(d, true, channel.newPromise()));
        } else if (!wasNew) {
            // what was written just before (a CONNACK, an acknowledgement) still reaches the client: a 3.x client
            // taken over right after its CONNECT gets its CONNACK, then the close
            closeAfterFlush(send(Unpooled.EMPTY_BUFFER, true, channel.newPromise()));
        } else {
            channel.close();
        }
    }

    /**
     * Closes the channel once {@code last} (and so everything written before it) is flushed, or after
     * {@link #CLOSE_FLUSH_MILLIS} if a client that reads nothing keeps the flush from completing.
     */
    private void closeAfterFlush(ChannelFuture last) {
        last.addListener(ChannelFutureListener.CLOSE);
        channel.eventLoop().schedule(() -> {
            channel.close();
        }, CLOSE_FLUSH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Longest a disconnect waits for pending writes to be flushed before it closes the connection anyway. */
    static final long CLOSE_FLUSH_MILLIS = 1_000;

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

    void protocolError(String what) {
        LOG.info("Client {} ({}): protocol error: {}; disconnecting", clientId, remote(), what);
        disconnect(RC_PROTOCOL_ERROR, what);
    }

    void close() {
        channel.close();
    }

    void onSession(java.util.function.Consumer<Session> task) {
        Session s = session;
        if (s == null) {
            return;
        }
        if (s.loop.inEventLoop()) {
            if (s.connection == this) {
                task.accept(s);
            }
        } else {
            s.loop.execute(() -> {
                if (s.connection == this) {
                    task.accept(s);
                }
            });
        }
    }

    /** The client's address (from the PROXY protocol header on such listeners), for logs and ClientInfo. */
    /** The client's IP address (the real one behind a PROXY-protocol listener), or null if it has none. */
    java.net.InetAddress clientAddress() {
        SocketAddress a = channel == null ? null : ProxyProtocolHandler.remoteAddress(channel);
        return a instanceof InetSocketAddress isa ? isa.getAddress() : null;
    }

    public String remote() {
        SocketAddress a = channel == null ? null : ProxyProtocolHandler.remoteAddress(channel);
        if (a instanceof InetSocketAddress isa) {
            return isa.getAddress().getHostAddress() + ":" + isa.getPort();
        }
        return String.valueOf(a);
    }
}
