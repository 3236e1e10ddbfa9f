package io.brokkr.broker.protocol;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.QueueFullPolicy;
import io.brokkr.broker.routing.RouteResult;
import io.brokkr.broker.session.ClientChannel;
import io.brokkr.broker.session.Delivery;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.topic.Topics;
import io.brokkr.broker.transport.ConnectionGuard;
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
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.IntegerProperty;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttProperties.StringProperty;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttUnsubAckMessage;
import io.netty.handler.codec.mqtt.MqttUnsubAckPayload;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT network connection: decodes and validates packets on the channel's event loop and hands session work to
 * the session's event loop. Not sharable: one instance per channel.
 */
public final class MqttConnection extends ChannelInboundHandlerAdapter implements ClientChannel {

    private static final Logger LOG = LoggerFactory.getLogger(MqttConnection.class);
    public static final String IDLE_HANDLER = "idle";
    /** Netty's own attribute for the protocol version, read by MqttEncoder (MqttCodecUtil.MQTT_VERSION_KEY). */
    private static final AttributeKey<MqttVersion> MQTT_VERSION_KEY = AttributeKey.valueOf("NETTY_CODEC_MQTT_VERSION");

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

    private enum State { NEW, CONNECTING, CONNECTED, CLOSED }

    final ConnectionHost broker;
    private final Listener listener;
    Channel channel;
    private State state = State.NEW;

    private ProtocolVersion version = ProtocolVersion.MQTT_3_1_1;
    /** Of the CONNECT; set before {@link #connectedAt}, which publishes it (and the rest of the CONNECT state). */
    private boolean cleanStart;
    /**
     * When the CONNECT was accepted (epoch millis), 0 before: written last, after everything {@link #info()} reads,
     * and read first by it.
     */
    private volatile long connectedAt;
    /** Created at CONNECT, before authentication; the same object for every extension call of this connection. */
    volatile BrokerConnectionContext context;
    private volatile Session session;
    String clientId;

    // negotiated at CONNECT (immutable afterwards)
    private int clientReceiveMaximum = 65_535;
    long clientMaximumPacketSize = Long.MAX_VALUE;
    int clientTopicAliasMaximum;
    private boolean connectSessionExpiryZero;

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
    private long lastReadNanos;
    private int keepAliveMillis; // an int, not nanoseconds in a long: the object stays small
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
                onConnect((MqttConnectMessage) m);
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

    // -------------------------------------------------------------------------------------------- CONNECT

    private void onDecoderFailure(Throwable cause) {
        if (state == State.NEW) {
            if (cause instanceof MqttUnacceptableProtocolVersionException) {
                PacketInspector inspector = channel.pipeline().get(PacketInspector.class);
                Integer level = inspector == null ? null : inspector.connectLevel();
                LOG.info("Connection {}: unsupported protocol version ({}, level {}), refusing", remote(),
                        cause.getMessage(), level);
                // Level 5+ clients get the MQTT 5 code 0x84 in an MQTT 5 CONNACK, older ones 0x01 [MQTT-3.1.2-2].
                // The high bit is Mosquitto's bridge flag (0x83, 0x84): such a bridge retries without it on 0x01.
                connAckAndClose(level != null && (level & 0x7F) >= 5
                        ? MqttConnectReturnCode.CONNECTION_REFUSED_UNSUPPORTED_PROTOCOL_VERSION
                        : MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION, null);
            } else if (cause instanceof MqttIdentifierRejectedException) {
                LOG.info("Connection {}: client identifier rejected: {}", remote(), cause.getMessage());
                connAckAndClose(isV5FromAttr() ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                        : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED, "client identifier not valid");
            } else if (cause instanceof TooLongFrameException && isV5FromAttr()) {
                LOG.info("Connection {}: CONNECT too large: {}", remote(), cause.getMessage());
                connAckAndClose(MqttConnectReturnCode.CONNECTION_REFUSED_PACKET_TOO_LARGE, "packet too large");
            } else {
                LOG.info("Connection {}: malformed CONNECT ({}), closing", remote(), cause.getMessage());
                if (isV5FromAttr()) {
                    connAckAndClose(MqttConnectReturnCode.CONNECTION_REFUSED_MALFORMED_PACKET, cause.getMessage());
                } else {
                    close();
                }
            }
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

    /** A malformed CONNECT: MQTT 5 gets CONNACK 0x81, 3.x has no code for it and is closed. */
    private void refuseMalformedConnect(String what) {
        if (isV5()) {
            refuse(MqttConnectReturnCode.CONNECTION_REFUSED_MALFORMED_PACKET, what);
        } else {
            LOG.info("Connection {}: malformed CONNECT ({}), closing", remote(), what);
            state = State.CLOSED;
            close();
        }
    }

    private boolean isV5FromAttr() {
        return channel.attr(MQTT_VERSION_KEY).get() == MqttVersion.MQTT_5;
    }

    private void onConnect(MqttConnectMessage msg) {
        MqttConnectVariableHeader vh = msg.variableHeader();
        MqttConnectPayload pl = msg.payload();
        BrokerConfig cfg = broker.config();
        try {
            version = ProtocolVersion.ofLevel(vh.version());
        } catch (IllegalArgumentException e) {
            connAckAndClose(MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION, null);
            return;
        }
        String flagError = null;
        if (!vh.isWillFlag() && (vh.willQos() != 0 || vh.isWillRetain())) {
            flagError = "will QoS or will retain set without the will flag"; // [MQTT-3.1.2-11], [MQTT-3.1.2-13]
        } else if (vh.willQos() > 2) {
            flagError = "will QoS 3"; // [MQTT-3.1.2-12]
        } else if (version != ProtocolVersion.MQTT_5 && vh.hasPassword() && !vh.hasUserName()) {
            flagError = "password without user name"; // [MQTT-3.1.2-22] (3.1.1; allowed in MQTT 5)
        }
        if (flagError != null) {
            refuseMalformedConnect(flagError);
            return;
        }
        MqttProperties props = vh.properties();
        boolean cleanStart = vh.isCleanSession();
        String id = pl.clientIdentifier();
        boolean assigned = false;

        long expiry;
        if (isV5()) {
            Long e = Codec.uintProp(props, MqttPropertyType.SESSION_EXPIRY_INTERVAL);
            expiry = e == null ? 0 : e;
            Integer rm = Codec.intProp(props, MqttPropertyType.RECEIVE_MAXIMUM);
            if (rm != null) {
                if (rm == 0) {
                    refuse(MqttConnectReturnCode.CONNECTION_REFUSED_PROTOCOL_ERROR, "Receive Maximum of 0");
                    return;
                }
                clientReceiveMaximum = rm;
            }
            Long mps = Codec.uintProp(props, MqttPropertyType.MAXIMUM_PACKET_SIZE);
            if (mps != null) {
                if (mps == 0) {
                    refuse(MqttConnectReturnCode.CONNECTION_REFUSED_PROTOCOL_ERROR, "Maximum Packet Size of 0");
                    return;
                }
                clientMaximumPacketSize = mps;
            }
            Integer tam = Codec.intProp(props, MqttPropertyType.TOPIC_ALIAS_MAXIMUM);
            clientTopicAliasMaximum = tam == null ? 0 : tam;
            String authMethod = Codec.stringProp(props, MqttPropertyType.AUTHENTICATION_METHOD);
            if (authMethod != null) {
                refuse(MqttConnectReturnCode.CONNECTION_REFUSED_BAD_AUTHENTICATION_METHOD,
                        "authentication method '" + authMethod + "' not supported");
                return;
            }
        } else {
            expiry = cleanStart ? 0 : BrokerConfig.NEVER_EXPIRE;
        }
        connectSessionExpiryZero = expiry == 0;
        long cappedExpiry = Math.min(expiry, cfg.sessionExpiryMax());

        if (decodedFromInvalidUtf8(id) || decodedFromInvalidUtf8(pl.userName())
                || (vh.isWillFlag() && decodedFromInvalidUtf8(pl.willTopic()))) {
            refuseMalformedConnect("string is not valid UTF-8");
            return;
        }
        if (id == null || id.isEmpty()) {
            if (!isV5() && !cleanStart) {
                // [MQTT-3.1.3-8]
                refuse(MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED,
                        "empty client id requires clean session");
                return;
            }
            id = "brokkr-" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
            assigned = true;
        }
        if (!assigned && id.length() > cfg.maxClientIdLength()) {
            refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                    : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED, "client identifier not valid");
            return;
        }
        clientId = id;
        java.net.InetAddress address = clientAddress();
        ConnectionGuard.Verdict verdict = broker.guard().admit(address, id);
        if (verdict != ConnectionGuard.Verdict.ADMIT) {
            switch (verdict) {
                case DENIED_ADDRESS -> refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_BANNED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "address not allowed");
                case BANNED -> refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_BANNED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "banned");
                case RATE_EXCEEDED -> refuse(isV5()
                        ? MqttConnectReturnCode.CONNECTION_REFUSED_CONNECTION_RATE_EXCEEDED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE, "connection rate exceeded");
                default -> refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                        : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED,
                        "client identifier not allowed (clientid.prefixes)");
            }
            return;
        }

        int keepAlive = vh.keepAliveTimeSeconds();
        Integer serverKeepAlive = null;
        if (cfg.keepAliveMax() > 0) {
            if (isV5()) {
                if (keepAlive == 0 || keepAlive > cfg.keepAliveMax()) {
                    keepAlive = cfg.keepAliveMax();
                }
                serverKeepAlive = keepAlive;
            } else if (keepAlive > cfg.keepAliveMax()) {
                // no way to tell a 3.x client to ping more often: refuse like Mosquitto's max_keepalive does
                refuse(MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED,
                        "keep alive " + keepAlive + " s exceeds keepalive.max " + cfg.keepAliveMax() + " s");
                return;
            }
        }

        Message will = null;
        long willDelay = 0;
        if (vh.isWillFlag()) {
            String wt = pl.willTopic();
            String err = Topics.validateTopicName(wt);
            if (err == null && wt.startsWith("$SYS")) {
                err = "$SYS topics are reserved";
            }
            if (err != null) {
                refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_TOPIC_NAME_INVALID
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "will topic: " + err);
                return;
            }
            if (vh.willQos() > cfg.maxQos()) {
                refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_QOS_NOT_SUPPORTED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "will QoS not supported");
                return;
            }
            if (vh.isWillRetain() && !cfg.retainAvailable()) {
                refuse(isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_RETAIN_NOT_SUPPORTED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "retain not supported");
                return;
            }
            byte[] wp = pl.willMessageInBytes() == null ? new byte[0] : pl.willMessageInBytes();
            MqttProperties wprops = isV5() ? pl.willProperties() : null;
            will = Codec.will(id, wt, wp, vh.willQos(), vh.isWillRetain(), wprops);
            if (Integer.valueOf(1).equals(will.properties().payloadFormatIndicator()) && !Codec.isValidUtf8(wp)) {
                refuse(MqttConnectReturnCode.CONNECTION_REFUSED_PAYLOAD_FORMAT_INVALID, "will payload not UTF-8");
                return;
            }
            Long wd = isV5() ? Codec.uintProp(wprops, MqttPropertyType.WILL_DELAY_INTERVAL) : null;
            willDelay = wd == null ? 0 : wd;
        }

        String username = pl.userName();
        boolean certified = false;
        TlsSupport.Identity identityMode = TlsSupport.identityMode(listener.config());
        if (identityMode != TlsSupport.Identity.NONE) {
            // like Mosquitto's use_identity_as_username: the verified client certificate names the user, whatever
            // user name the CONNECT carries, and such a client counts as authenticated
            String identity = TlsSupport.identity(channel, identityMode);
            if (identity == null) {
                refuse(mapRefusal(RC_NOT_AUTHORIZED), "no client certificate with a "
                        + (identityMode == TlsSupport.Identity.CN ? "CN" : "DNS or e-mail subject alternative name")
                        + " (identity.from.certificate = " + identityMode.name().toLowerCase(java.util.Locale.ROOT) + ")");
                return;
            }
            username = identity;
            certified = true;
        }

        state = State.CONNECTING;
        channel.config().setAutoRead(false);
        final String finalId = id;
        final boolean finalAssigned = assigned;
        final int finalKeepAlive = keepAlive;
        final Integer finalServerKeepAlive = serverKeepAlive;
        final Message finalWill = will;
        final long finalWillDelay = willDelay;
        final long sessionExpiry = cappedExpiry;
        final boolean expiryCapped = cappedExpiry != expiry;
        BrokerConnectionContext ctx = new BrokerConnectionContext(listener.config(), channel, version, id,
                username);
        context = ctx;
        AuthenticationRequest req = new AuthenticationRequest(pl.passwordInBytes(), null, null,
                Codec.userProps(props));
        broker.authenticate(ctx, req, certified).whenComplete((res, err) -> channel.eventLoop().execute(() -> {
            if (state != State.CONNECTING) {
                return;
            }
            AuthenticationResult r = res;
            if (err != null) {
                LOG.warn("Client {}: authentication failed with an error: {}", finalId, err.toString());
                r = AuthenticationResult.deny(AuthenticationResult.SERVER_UNAVAILABLE, "authentication unavailable");
            }
            if (r.decision() != AuthenticationResult.Decision.ALLOW) {
                int rc = r.reasonCode() == 0 ? AuthenticationResult.NOT_AUTHORIZED : r.reasonCode();
                LOG.info("Client {} from {}: connection refused (0x{}): {}", finalId, remote(),
                        Integer.toHexString(rc), r.reason());
                java.time.Duration delay = rc == AuthenticationResult.BAD_USERNAME_OR_PASSWORD
                        || rc == AuthenticationResult.NOT_AUTHORIZED
                        ? broker.guard().loginFailed(address) : java.time.Duration.ZERO;
                if (delay.isZero()) {
                    connAckAndClose(mapRefusal(rc), r.reason());
                } else {
                    // a refused login after many: answered late, so that guessing passwords is slow (the network
                    // thread does not wait; the connection reads nothing meanwhile)
                    String reason = r.reason();
                    channel.eventLoop().schedule(() -> connAckAndClose(mapRefusal(rc), reason), delay.toMillis(),
                            TimeUnit.MILLISECONDS);
                }
                return;
            }
            broker.guard().loginSucceeded(address);
            ctx.principal(r.principal());
            long acceptedAt = System.currentTimeMillis();
            if (finalWill != null
                    && !broker.authorizePublish(ctx, finalWill.topic(), finalWill.qos(), finalWill.retain())) {
                // the will is published later on the client's behalf: it is authorized now, as the client that set
                // it, so that a will cannot reach a topic its client may not publish to
                LOG.info("Client {} from {}: connection refused: not authorized to publish its will to '{}'",
                        finalId, remote(), finalWill.topic());
                connAckAndClose(mapRefusal(RC_NOT_AUTHORIZED), "not authorized to publish the will");
                return;
            }
            this.cleanStart = cleanStart;
            // [MQTT-3.1.2-22] one and a half times the keep alive period (at most 65,535 s: fits)
            keepAliveMillis = finalKeepAlive * 1500;
            connectedAt = acceptedAt; // last: publishes the above to info()
            ConnectParams p = new ConnectParams(cleanStart, sessionExpiry, expiryCapped, finalAssigned,
                    finalServerKeepAlive, finalWill, finalWillDelay);
            broker.connect(this, p);
        }));
    }

    /** What the session loop needs to complete a CONNECT. */
    public record ConnectParams(boolean cleanStart, long sessionExpiry, boolean expiryCapped, boolean assignedId,
                                Integer serverKeepAlive, Message will, long willDelay) {
    }

    private MqttConnectReturnCode mapRefusal(int rc) {
        if (isV5()) {
            return MqttConnectReturnCode.valueOf((byte) rc);
        }
        return switch (rc) {
            case 0x86 -> MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD;
            case 0x88, 0x89 -> MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE;
            case 0x85 -> MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED;
            default -> MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED;
        };
    }

    private void refuse(MqttConnectReturnCode code, String reason) {
        LOG.info("Client {} from {}: connection refused ({}): {}", clientId, remote(), code, reason);
        connAckAndClose(code, reason);
    }

    private void connAckAndClose(MqttConnectReturnCode code, String reason) {
        state = State.CLOSED;
        MqttProperties props = MqttProperties.NO_PROPERTIES;
        if (code == MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION) {
            // the 3.1.1 format is the one every client level can read
            channel.attr(MQTT_VERSION_KEY).set(MqttVersion.MQTT_3_1_1);
        } else if (code == MqttConnectReturnCode.CONNECTION_REFUSED_UNSUPPORTED_PROTOCOL_VERSION) {
            channel.attr(MQTT_VERSION_KEY).set(MqttVersion.MQTT_5);
        } else if (isV5FromAttr() && reason != null) {
            props = new MqttProperties();
            props.add(new StringProperty(MqttPropertyType.REASON_STRING.value(), reason));
        }
        MqttConnAckMessage ack = new MqttConnAckMessage(
                new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttConnAckVariableHeader(code, false, props));
        broker.counters().messagesSent.increment();
        send(ack, true, channel.newPromise()).addListener(ChannelFutureListener.CLOSE);
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
    private void armKeepAlive() {
        if (state != State.CLOSED && keepAliveIndex < 0) {
            KeepAliveTimers.current().add(this, lastReadNanos + TimeUnit.MILLISECONDS.toNanos(keepAliveMillis),
                    channel.eventLoop());
        }
    }

    /** Runs on the session loop (after {@link #link}): send CONNACK. */
    public void connected(Session s, boolean sessionPresent, ConnectParams p) {
        channel.pipeline().remove(IDLE_HANDLER); // the CONNECT timeout
        if (keepAliveMillis > 0) {
            // armed here, on the loop the channel stays on, so its timer runs there
            lastReadNanos = System.nanoTime();
            io.netty.channel.EventLoop loop = channel.eventLoop();
            if (loop.inEventLoop()) {
                armKeepAlive();
            } else {
                loop.execute(this::armKeepAlive);
            }
        }
        MqttProperties props = MqttProperties.NO_PROPERTIES;
        BrokerConfig cfg = broker.config();
        if (isV5()) {
            props = new MqttProperties();
            if (p.expiryCapped()) {
                props.add(new IntegerProperty(MqttPropertyType.SESSION_EXPIRY_INTERVAL.value(),
                        (int) p.sessionExpiry()));
            }
            if (cfg.receiveMaximum() != 65_535) {
                props.add(new IntegerProperty(MqttPropertyType.RECEIVE_MAXIMUM.value(), cfg.receiveMaximum()));
            }
            if (cfg.maxQos() < 2) {
                props.add(new IntegerProperty(MqttPropertyType.MAXIMUM_QOS.value(), cfg.maxQos()));
            }
            if (!cfg.retainAvailable()) {
                props.add(new IntegerProperty(MqttPropertyType.RETAIN_AVAILABLE.value(), 0));
            }
            props.add(new IntegerProperty(MqttPropertyType.MAXIMUM_PACKET_SIZE.value(), cfg.maxPacketSize()));
            if (p.assignedId()) {
                props.add(new StringProperty(MqttPropertyType.ASSIGNED_CLIENT_IDENTIFIER.value(), clientId));
            }
            props.add(new IntegerProperty(MqttPropertyType.TOPIC_ALIAS_MAXIMUM.value(), cfg.topicAliasMaximum()));
            if (p.serverKeepAlive() != null) {
                props.add(new IntegerProperty(MqttPropertyType.SERVER_KEEP_ALIVE.value(), p.serverKeepAlive()));
            }
        }
        MqttConnAckMessage ack = new MqttConnAckMessage(
                new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttConnAckVariableHeader(MqttConnectReturnCode.CONNECTION_ACCEPTED, sessionPresent, props));
        write(ack, false);
        channel.eventLoop().execute(this::afterConnack);
    }

    private void afterConnack() {
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

    // -------------------------------------------------------------------------------------------- PUBLISH in

    /**
     * PUBACK/PUBREC of inbound PUBLISHes whose routing has not completed, and those behind them, in the order the
     * PUBLISHes came [MQTT-4.6.0-2]; confined to the session loop. Created on first use.
     */
    java.util.ArrayDeque<InboundPublish.PendingAck> pendingAcks;
    /** QoS 1 entries of {@link #pendingAcks}: they count against the broker's Receive Maximum. */
    int pendingQos1Acks;

    // -------------------------------------------------------------------------------------------- SUBSCRIBE

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
    private java.net.InetAddress clientAddress() {
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
