package io.brokkr.broker.protocol;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.broker.config.QueueFullPolicy;
import io.brokkr.broker.routing.RouteResult;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.transport.Closing;
import io.brokkr.broker.transport.Listener;
import io.brokkr.broker.transport.PacketInspector;
import io.brokkr.broker.transport.ProxyProtocolHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttProperties.StringProperty;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT connection as the packet handlers of this package see it: its state (negotiated at CONNECT, the tie to
 * its session, topic aliases, pending acknowledgements, keep alive), its writes (packets, DISCONNECT and close) and
 * the callbacks the handlers need from the Netty handler that drives it, {@link MqttConnection}. The handlers
 * ({@link ConnectNegotiation}, {@link InboundPublish}, {@link OutboundPublish}, {@link SubscribeHandling}) and the
 * {@link KeepAliveTimers} work on this class and never name {@code MqttConnection}, which calls them: the arrows
 * inside the package run one way too ({@code ArchitectureTest}).
 */
public abstract class ConnectionState extends ChannelInboundHandlerAdapter implements ConnectionHost.Client {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionState.class);
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
    /** The session this connection is attached to (set by {@link MqttConnection#link}), or null. */
    volatile Session session;
    String clientId;

    // negotiated at CONNECT (immutable afterwards)
    int clientReceiveMaximum = 65_535;
    long clientMaximumPacketSize = Long.MAX_VALUE;
    int clientTopicAliasMaximum;
    boolean connectSessionExpiryZero;

    // session-loop confined; created on first use (most clients use no topic aliases)
    Map<Integer, String> inboundAliases;
    Map<String, Integer> outboundAliases;

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

    ConnectionState(ConnectionHost broker, Listener listener) {
        this.broker = broker;
        this.listener = listener;
    }

    /** Arms the keep alive timer. Channel loop. */
    abstract void armKeepAlive();

    /**
     * The keep alive timer (run by {@link KeepAliveTimers} on the channel's loop): closes the connection after
     * {@link #keepAliveMillis} without a read, else re-arms.
     */
    abstract void checkKeepAlive();

    /** CONNACK was written: processes the packets that came behind the CONNECT. Channel loop. */
    abstract void afterConnack();

    /**
     * The connection is over for MQTT (closed, or half-closed after the broker's last packet): nothing more is
     * processed and its end is reported to its session (will, interceptors, stats), once however often this runs.
     * Channel loop.
     *
     * @return true if this call reported the end
     */
    abstract boolean ended();

    /**
     * An acknowledgement of an inbound QoS 1/2 PUBLISH that waits for routing (or behind one that does); kept in
     * {@link #pendingAcks} by {@link InboundPublish}.
     */
    record PendingAck(int qos, int packetId, int rc, RouteResult routed) {
        boolean ready() {
            return routed == null || routed.isDone();
        }
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
    int keepAlive() {
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

    /** The socket takes more without buffering beyond the high water mark. Any thread. */
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public long millisSinceDataSent() {
        return io.brokkr.broker.transport.EpollSupport.millisSinceDataSent(channel);
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

    /**
     * Netty decodes UTF-8 strings leniently: ill-formed sequences (also encoded surrogates) become U+FFFD. A string
     * holding U+FFFD or U+0000 therefore came from bytes that MQTT calls malformed (a literal U+FFFD sent by a client
     * is refused too: the broker cannot tell the two apart).
     */
    static boolean decodedFromInvalidUtf8(String s) {
        return s != null && (s.indexOf('\uFFFD') >= 0 || s.indexOf('\u0000') >= 0);
    }

    // -------------------------------------------------------------------------------------------- InboundPublish's

    /**
     * PUBACK/PUBREC of inbound PUBLISHes whose routing has not completed, and those behind them, in the order the
     * PUBLISHes came [MQTT-4.6.0-2]; confined to the session loop. Created on first use.
     */
    java.util.ArrayDeque<PendingAck> pendingAcks;
    /** QoS 1 entries of {@link #pendingAcks}: they count against the broker's Receive Maximum. */
    int pendingQos1Acks;
    /**
     * 1 while a task that writes the ready acknowledgements is queued on the session loop, so that the routings
     * completed by one journal batch (on the journal's thread) cost one task per publisher, not one per message.
     */
    volatile int ackTaskQueued;
    static final AtomicIntegerFieldUpdater<ConnectionState> ACK_TASK =
            AtomicIntegerFieldUpdater.newUpdater(ConnectionState.class, "ackTaskQueued");
    /** {@link InboundPublish}'s listener for the routings of {@link #ackListenerSession}; session loop. */
    Runnable ackListener;
    Session ackListenerSession;

    /** Retained QoS 0 PUBLISHes encoded by {@link #writeRetainedQos0} and not written to the channel yet. */
    ByteBuf retainedBatch;

    /** True when {@link #writeRetainedQos0} may be used: MQTT 3.1/3.1.1 (no properties, aliases or size limit). */
    public boolean rawRetainedQos0() {
        return !isV5();
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
        last.addListener(f -> {
            if (f.isSuccess()) {
                closeOutput();
            } else {
                channel.close();
            }
        });
        channel.eventLoop().schedule(() -> {
            channel.close();
        }, CLOSE_FLUSH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Ends the connection after its last packet: the broker stops sending and reads on, dropping what comes, until
     * the client closes its side ({@link Closing}: FIN, close_notify first on TLS, a Close frame on WebSocket), or
     * {@link #CLOSE_FLUSH_MILLIS} after the disconnect; so a client still sending (a PUBREL for a PUBREC it had not
     * read yet) is not reset before it reads the DISCONNECT. The session learns of the end at once, as from a close.
     */
    private void closeOutput() {
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        ended(); // the session learns of the end now, not when the client has closed its side too
        channel.config().setAutoRead(true); // what still comes is read and dropped (state CLOSED)
        Closing.endOutput(channel);
    }

    /**
     * Longest a disconnect waits for pending writes to be flushed, and then for the client to close its side, before
     * it closes the connection anyway.
     */
    static final long CLOSE_FLUSH_MILLIS = 1_000;

    /**
     * The CONNECT deadline: closes the connection if no CONNACK has gone out {@code connect.timeout.seconds} after it
     * began, however the time went (a TLS handshake, a WebSocket upgrade or a CONNECT trickled a byte at a time, an
     * authentication); null once CONNACK is out. An idle timer, which every read restarts, let a client that sends a
     * byte now and then hold a connection without ever connecting.
     */
    private java.util.concurrent.ScheduledFuture<?> connectDeadline;

    /** Channel loop, when the connection starts. */
    void armConnectDeadline(int seconds) {
        connectDeadline = channel.eventLoop().schedule(
                () -> channel.eventLoop().execute(() -> connectDeadlinePassed(seconds)), seconds, TimeUnit.SECONDS);
    }

    /** On the loop the channel is on now (it may have moved to its session's loop meanwhile). */
    private void connectDeadlinePassed(int seconds) {
        if (connectDeadline != null && (state == State.NEW || state == State.CONNECTING)) {
            LOG.info("Connection {}: not connected {} s after it began (connect.timeout.seconds), closing", remote(),
                    seconds);
            close();
        }
    }

    /** When CONNACK goes out. */
    void cancelConnectDeadline() {
        java.util.concurrent.ScheduledFuture<?> f = connectDeadline;
        if (f != null) {
            connectDeadline = null;
            f.cancel(false);
        }
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

    /** The client's IP address (the real one behind a PROXY-protocol listener), or null if it has none. */
    java.net.InetAddress clientAddress() {
        SocketAddress a = channel == null ? null : ProxyProtocolHandler.remoteAddress(channel);
        return a instanceof InetSocketAddress isa ? isa.getAddress() : null;
    }

    /** The client's address (from the PROXY protocol header on such listeners), for logs and ClientInfo. */
    public String remote() {
        SocketAddress a = channel == null ? null : ProxyProtocolHandler.remoteAddress(channel);
        if (a instanceof InetSocketAddress isa) {
            return isa.getAddress().getHostAddress() + ":" + isa.getPort();
        }
        return String.valueOf(a);
    }
}
