package io.brokkr.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * One MQTT 3.1.1 or 5.0 connection of the load tool. All state is confined to the channel's event loop; the driver
 * reads results through {@link #onLoop}. A client is a subscriber, a publisher, both or neither (idle).
 */
final class BenchClient extends ChannelInboundHandlerAdapter {

    /** Messages encoded into one buffer (one write+flush) by a QoS 0 publisher before it yields the loop. */
    private static final int BATCH = 64;

    final String clientId;
    volatile Channel channel;
    final CompletableFuture<BenchClient> connected = new CompletableFuture<>();
    private CompletableFuture<BenchClient> subscribed;
    /** DISCONNECT sent: incoming PUBLISH packets are ignored. */
    private boolean disconnecting;

    // ---------------------------------------------------------------- subscriber state
    /** Messages received (including duplicates); written on the loop only, read by the driver. */
    volatile long received;
    long duplicates;
    /** End-to-end latency (publish time to receive time) in microseconds, recorded while {@link #recording}. */
    final Histogram latency = new Histogram(TimeUnit.MINUTES.toMicros(30), 2);
    volatile boolean recording;
    /** Received sequence numbers per publisher index (only if tracking). */
    private BitSet[] seen;
    private ByteBuf acks;

    // ---------------------------------------------------------------- publisher state
    private byte[] topic;
    private int pubIndex;
    private int qos;
    private int payload;
    private int window;
    volatile boolean running;
    volatile long sent;
    /** QoS 1: PUBACKs; QoS 2: PUBRECs (the broker owns the message from then on). */
    volatile long acked;
    int inflight;
    private int nextId = 1;
    private int[] idSeq;
    private long[] idTime;
    private int nextSeq;
    private double rate;
    private long rateStart;
    private boolean pacingScheduled;
    /** Acknowledged sequence numbers (QoS 1/2). */
    BitSet ackedSeqs;
    /** Called on the loop with the sequence number of each message acknowledged (QoS 1/2), if set. */
    java.util.function.IntConsumer ackListener;
    /** Publish-to-acknowledgement latency in microseconds (QoS 1/2), recorded while {@link #recording}. */
    final Histogram ackLatency = new Histogram(TimeUnit.MINUTES.toMicros(30), 2);

    // ---------------------------------------------------------------- protocol and session (set before connecting)
    private boolean v5;
    private boolean cleanSession = true;
    private long sessionExpiry;
    /** CONNACK's Session Present flag. */
    volatile boolean sessionPresent;
    /** The broker's Receive Maximum (5.0 CONNACK; 65,535 if absent): caps the publishing window. */
    private int serverReceiveMaximum = 65_535;

    // ---------------------------------------------------------------- fixed message count and timestamps
    /** Messages this publisher sends in all (0: until stopped). */
    private long limit;
    /** {@link System#nanoTime()} of the last write of PUBLISH packets, acknowledgement, received PUBLISH. */
    volatile long firstSentNanos;
    volatile long lastSentNanos;
    volatile long lastAckNanos;
    volatile long lastRecvNanos;

    // ---------------------------------------------------------------- slow subscriber
    /** Acknowledgements per second of a slow subscriber; 0: a normal subscriber that reads and acknowledges
     * everything at once. */
    private double slowRate;
    private long slowStart;
    /** Messages received by a slow subscriber and not processed yet: QoS &lt;&lt; 16 | packet id (QoS 0: -1). */
    private final ArrayDeque<Integer> slowPending = new ArrayDeque<>();
    /** Messages a slow subscriber has processed (acknowledged, for QoS 1/2). */
    volatile long slowDone;

    BenchClient(String clientId) {
        this.clientId = clientId;
    }

    /** Speaks MQTT 5.0 instead of 3.1.1 ({@code mqtt} 5 or 3). Call before connecting. */
    BenchClient mqtt(int mqtt) {
        v5 = mqtt == 5;
        return this;
    }

    /**
     * Connects with a persistent session: Clean Session 0 (3.1.1), or Clean Start 0 and Session Expiry Interval
     * {@code expirySeconds} (5.0). {@code persistent(false, 0)} asks for a clean session that ends with the
     * connection, which also removes a persistent session left by an earlier connection. Call before connecting.
     */
    BenchClient persistent(boolean persistent, long expirySeconds) {
        cleanSession = !persistent;
        sessionExpiry = persistent ? expirySeconds : 0;
        return this;
    }

    /** The CONNECT this client sends. */
    static MqttConnectMessage connectMessage(String clientId, boolean v5, boolean cleanSession, long sessionExpiry) {
        MqttMessageBuilders.ConnectBuilder b = MqttMessageBuilders.connect().clientId(clientId)
                .protocolVersion(v5 ? MqttVersion.MQTT_5 : MqttVersion.MQTT_3_1_1)
                .cleanSession(cleanSession).keepAlive(0);
        if (v5 && sessionExpiry > 0) {
            MqttProperties p = new MqttProperties();
            p.add(new MqttProperties.IntegerProperty(
                    MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL.value(), (int) sessionExpiry));
            b.properties(p);
        }
        return b.build();
    }

    /**
     * Takes over the subscriber state of {@code prev}, an earlier connection of the same persistent session that is
     * closed: what it saw, its counts and its latencies, so that duplicates across the reconnection are counted.
     * Run on {@code prev}'s event loop (see {@link #onLoop}) before this client connects.
     */
    void takeOver(BenchClient prev) {
        seen = prev.seen;
        received = prev.received;
        duplicates = prev.duplicates;
        latency.add(prev.latency);
        recording = prev.recording;
        lastRecvNanos = prev.lastRecvNanos;
    }

    /** This client's publisher stops after {@code messages} messages (0: no limit). Call before publishing. */
    BenchClient limit(long messages) {
        limit = messages;
        return this;
    }

    /** A publisher with a limit that has sent all its messages and, for QoS 1/2, got all their flows completed. */
    boolean finished() {
        return limit > 0 && nextSeq >= limit && inflight == 0;
    }

    /**
     * Turns this (subscribed) client into a slow but live subscriber: from now on it reads from its socket in
     * small chunks, only when it has nearly nothing left to process, and processes (acknowledges, for QoS 1/2)
     * {@code perSecond} messages per second. The broker sees a client that keeps acknowledging, slowly.
     */
    void startSlow(double perSecond) {
        channel.eventLoop().execute(() -> {
            slowRate = perSecond;
            slowStart = System.nanoTime();
            channel.config().setRecvByteBufAllocator(new FixedRecvByteBufAllocator(1024));
            channel.config().setAutoRead(false);
            slowTick();
        });
    }

    private void slowTick() {
        Channel ch = channel;
        if (!ch.isActive()) {
            return;
        }
        long due = (long) ((System.nanoTime() - slowStart) / 1e9 * slowRate) - slowDone;
        while (due-- > 0 && !slowPending.isEmpty()) {
            int p = slowPending.poll();
            if (p >= 0) {
                ackOut(p >> 16 == 1 ? Wire.PUBACK : Wire.PUBREC, p & 0xFFFF);
            }
            slowDone++;
        }
        if (acks != null && acks.isReadable()) {
            ByteBuf out = acks;
            acks = null;
            ch.writeAndFlush(out, ch.voidPromise());
        }
        if (slowPending.size() < Math.max(1, slowRate / 10)) {
            ch.read();
        }
        ch.eventLoop().schedule(this::slowTick, 10, TimeUnit.MILLISECONDS);
    }

    /**
     * Sends DISCONNECT, shuts the output down and lets the broker close the connection (after 5 s the client
     * closes it). PUBLISH packets still arriving meanwhile are neither counted nor acknowledged: the broker sent
     * them before it read the DISCONNECT and sends unacknowledged ones again to a persistent session. Closing at
     * once instead would reset the connection (Linux sends RST when unread data is left), and the broker could lose
     * the acknowledgements it has not read yet and resend those messages as duplicates.
     */
    void disconnect() {
        Channel ch = channel;
        if (ch != null) {
            ch.eventLoop().execute(() -> {
                running = false;
                disconnecting = true;
                ch.writeAndFlush(MqttMessage.DISCONNECT).addListener(x -> {
                    if (ch instanceof DuplexChannel d) {
                        d.shutdownOutput();
                    }
                });
                ch.eventLoop().schedule(() -> ch.close(), 5, TimeUnit.SECONDS);
            });
        }
    }

    /** Makes this client track, per publisher index, which sequence numbers it received. */
    BenchClient trackSeen(int publishers) {
        seen = new BitSet[publishers];
        for (int i = 0; i < publishers; i++) {
            seen[i] = new BitSet();
        }
        return this;
    }

    BitSet seen(int publisher) {
        return seen[publisher];
    }

    // ---------------------------------------------------------------- driver API (any thread)

    CompletableFuture<BenchClient> subscribe(String filter, int subQos) {
        CompletableFuture<BenchClient> f = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            subscribed = f;
            channel.writeAndFlush(MqttMessageBuilders.subscribe().messageId(1)
                    .addSubscription(MqttQoS.valueOf(subQos), filter).build());
        });
        return f;
    }

    /**
     * Starts publishing to {@code topicName} as fast as the connection (and for QoS 1/2 the window) allows, at most
     * {@code ratePerSecond} messages per second (0: no limit).
     */
    void startPublishing(String topicName, int publisherIndex, int pubQos, int payloadSize, int inflightWindow,
                         double ratePerSecond) {
        channel.eventLoop().execute(() -> {
            rate = ratePerSecond;
            rateStart = System.nanoTime();
            topic = topicName.getBytes(StandardCharsets.UTF_8);
            pubIndex = publisherIndex;
            qos = pubQos;
            payload = Math.max(Wire.HEADER, payloadSize);
            window = Math.max(1, Math.min(inflightWindow, serverReceiveMaximum));
            if (qos > 0) {
                idSeq = new int[65_536];
                idTime = new long[65_536];
                ackedSeqs = new BitSet();
            }
            running = true;
            pump();
        });
    }

    void stopPublishing() {
        running = false;
    }

    <T> T onLoop(java.util.concurrent.Callable<T> c) throws Exception {
        return channel.eventLoop().submit(c).get(30, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------- netty

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        ctx.writeAndFlush(connectMessage(clientId, v5, cleanSession, sessionExpiry));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        running = false;
        connected.completeExceptionally(new IllegalStateException(clientId + ": connection closed"));
        if (subscribed != null) {
            subscribed.completeExceptionally(new IllegalStateException(clientId + ": connection closed"));
        }
        if (acks != null) {
            acks.release();
            acks = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        connected.completeExceptionally(cause);
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            pump();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (!(msg instanceof MqttMessage m)) {
                return;
            }
            if (m.decoderResult().isFailure()) {
                System.err.println(clientId + ": undecodable packet: " + m.decoderResult().cause());
                ctx.close();
                return;
            }
            MqttMessageType type = m.fixedHeader().messageType();
            switch (type) {
                case PUBLISH -> onPublish((MqttPublishMessage) m);
                case PUBACK -> onAck(id(m), false);
                case PUBREC -> {
                    onAck(id(m), true);
                    ackOut(Wire.PUBREL, id(m));
                }
                case PUBCOMP -> {
                    inflight--;
                }
                case PUBREL -> ackOut(Wire.PUBCOMP, id(m));
                case CONNACK -> {
                    MqttConnAckMessage ack = (MqttConnAckMessage) m;
                    if (ack.variableHeader().connectReturnCode() == MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                        sessionPresent = ack.variableHeader().isSessionPresent();
                        MqttProperties.MqttProperty<?> rm = ack.variableHeader().properties()
                                .getProperty(MqttProperties.MqttPropertyType.RECEIVE_MAXIMUM.value());
                        if (rm != null) {
                            serverReceiveMaximum = (Integer) rm.value();
                        }
                        connected.complete(this);
                    } else {
                        connected.completeExceptionally(new IllegalStateException(clientId + ": refused "
                                + ack.variableHeader().connectReturnCode()));
                    }
                }
                case SUBACK -> {
                    if (subscribed != null) {
                        subscribed.complete(this);
                    }
                }
                default -> {
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (acks != null && acks.isReadable()) {
            ByteBuf out = acks;
            acks = null;
            ctx.writeAndFlush(out, ctx.voidPromise());
        }
        if (qos > 0 && running) {
            pump();
        }
    }

    private static int id(MqttMessage m) {
        return ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
    }

    private void ackOut(int type, int packetId) {
        if (acks == null) {
            acks = channel.alloc().directBuffer(256);
        }
        Wire.writeAck(acks, type, packetId);
    }

    private void onPublish(MqttPublishMessage m) {
        if (disconnecting) {
            return;
        }
        long now = System.nanoTime();
        ByteBuf p = m.payload();
        received++;
        lastRecvNanos = now;
        if (p.readableBytes() >= Wire.HEADER) {
            int ri = p.readerIndex();
            long t = p.getLong(ri);
            if (recording) {
                latency.recordValue(Math.max(0, Math.min((now - t) / 1000, latency.getHighestTrackableValue())));
            }
            if (seen != null) {
                int pub = p.getInt(ri + 8);
                int seq = p.getInt(ri + 12);
                if (pub >= 0 && pub < seen.length) {
                    if (seen[pub].get(seq)) {
                        duplicates++;
                    } else {
                        seen[pub].set(seq);
                    }
                }
            }
        }
        int q = m.fixedHeader().qosLevel().value();
        if (slowRate > 0) {
            slowPending.add(q == 0 ? -1 : q << 16 | m.variableHeader().packetId());
        } else if (q == 1) {
            ackOut(Wire.PUBACK, m.variableHeader().packetId());
        } else if (q == 2) {
            ackOut(Wire.PUBREC, m.variableHeader().packetId());
        }
    }

    private void onAck(int packetId, boolean qos2) {
        if (idTime == null) {
            return;
        }
        long t = idTime[packetId];
        if (t == 0) {
            return; // duplicate acknowledgement
        }
        idTime[packetId] = 0;
        ackedSeqs.set(idSeq[packetId]);
        if (ackListener != null) {
            ackListener.accept(idSeq[packetId]);
        }
        acked++;
        lastAckNanos = System.nanoTime();
        if (recording) {
            ackLatency.recordValue(Math.max(0, Math.min((System.nanoTime() - t) / 1000,
                    ackLatency.getHighestTrackableValue())));
        }
        if (!qos2) {
            inflight--;
        }
    }

    /** Writes as much as writability (and the inflight window) allows, in batches. Runs on the loop. */
    private void pump() {
        Channel ch = channel;
        if (!running || topic == null || !ch.isActive() || !ch.isWritable()) {
            return;
        }
        int room = qos == 0 ? BATCH : Math.min(BATCH, window - inflight);
        if (limit > 0) {
            room = (int) Math.min(room, limit - nextSeq);
        }
        if (rate > 0) {
            long due = (long) ((System.nanoTime() - rateStart) / 1e9 * rate) - nextSeq;
            if (due < room) {
                if (!pacingScheduled) {
                    pacingScheduled = true;
                    ch.eventLoop().schedule(() -> {
                        pacingScheduled = false;
                        pump();
                    }, 1, TimeUnit.MILLISECONDS);
                }
                room = (int) Math.max(0, due);
            }
        }
        if (room <= 0) {
            return;
        }
        int size = Wire.publishSize(topic.length, qos, payload, v5);
        ByteBuf buf = ch.alloc().directBuffer(size * room);
        long now = System.nanoTime();
        for (int i = 0; i < room; i++) {
            int seq = nextSeq++;
            int id = 0;
            if (qos > 0) {
                id = nextFreeId();
                idSeq[id] = seq;
                idTime[id] = now;
                inflight++;
            }
            Wire.writePublish(buf, topic, qos, id, payload, now, pubIndex, seq, v5);
        }
        if (sent == 0) {
            firstSentNanos = now;
        }
        sent += room;
        lastSentNanos = now;
        ch.writeAndFlush(buf, ch.voidPromise());
        if (qos == 0 && ch.isWritable() && !pacingScheduled) {
            ch.eventLoop().execute(this::pump); // yield to the other channels of this loop, then go on
        }
    }

    private int nextFreeId() {
        for (int i = 0; i < 65_535; i++) {
            int id = nextId;
            nextId = id == 65_535 ? 1 : id + 1;
            // ids are handed out in sequence: with window < 65535 an id comes round again only long after its
            // flow (QoS 2: up to PUBCOMP) ended
            if (idTime[id] == 0) {
                return id;
            }
        }
        throw new IllegalStateException("no free packet id");
    }
}
