package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare MQTT client for the protocol tests: Netty's MQTT codec over a real socket, no automatic acknowledgements,
 * no retries, no validation. It sends exactly what a test builds (or raw bytes) and queues every packet it receives,
 * so tests can assert on the broker's packets one by one.
 */
final class RawClient implements AutoCloseable {

    static final long TIMEOUT_MS = 5_000;
    private static final EventLoopGroup GROUP =
            new NioEventLoopGroup(2, new DefaultThreadFactory("raw-client", true));

    private final Channel channel;
    private final BlockingQueue<MqttMessage> received = new LinkedBlockingQueue<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    MqttVersion version = MqttVersion.MQTT_3_1_1;
    /** The client identifier of the last CONNECT sent through {@link #send}. */
    String clientId;

    private RawClient(int port) throws InterruptedException {
        Bootstrap b = new Bootstrap().group(GROUP).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new MqttDecoder(1 << 24));
                        ch.pipeline().addLast(MqttEncoder.INSTANCE);
                        ch.pipeline().addLast(new SimpleChannelInboundHandler<MqttMessage>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, MqttMessage m) {
                                received.add(detach(m));
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                closed.countDown();
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                });
        channel = b.connect("127.0.0.1", port).sync().channel();
    }

    /** Opens a TCP connection without sending anything. */
    static RawClient open(int port) throws InterruptedException {
        return new RawClient(port);
    }

    /** Opens a connection and completes a CONNECT; asserts the CONNACK is a success. */
    static RawClient connect(int port, MqttConnectMessage connect) throws InterruptedException {
        RawClient c = open(port);
        MqttConnAckMessage ack = c.connack(connect);
        assertEquals(0, returnCode(ack), "CONNACK return code for " + connect.payload().clientIdentifier());
        return c;
    }

    static RawClient v5(int port, String clientId) throws InterruptedException {
        return connect(port, Packets.connect(MqttVersion.MQTT_5, clientId, true, 10, null));
    }

    static RawClient v311(int port, String clientId) throws InterruptedException {
        return connect(port, Packets.connect(MqttVersion.MQTT_3_1_1, clientId, true, 10, null));
    }

    /** Copies a received packet's payload to the heap so tests need not release anything. */
    private static MqttMessage detach(MqttMessage m) {
        if (m instanceof MqttPublishMessage p) {
            byte[] bytes = new byte[p.payload().readableBytes()];
            p.payload().getBytes(p.payload().readerIndex(), bytes);
            return new MqttPublishMessage(p.fixedHeader(), p.variableHeader(), Unpooled.wrappedBuffer(bytes));
        }
        ReferenceCountUtil.retain(m); // SimpleChannelInboundHandler releases once
        return m;
    }

    // ------------------------------------------------------------------------------------------------ send

    void send(MqttMessage m) {
        if (m instanceof MqttConnectMessage c) {
            version = MqttVersion.fromProtocolNameAndLevel(c.variableHeader().name(),
                    (byte) c.variableHeader().version());
            clientId = c.payload().clientIdentifier();
        }
        channel.writeAndFlush(m).syncUninterruptibly();
    }

    /**
     * Writes without waiting for the write to complete, so that a test can pipeline packets the broker does not read
     * (a publisher the broker has paused keeps writing into its socket buffers).
     */
    void sendAsync(MqttMessage m) {
        channel.writeAndFlush(m);
    }

    /**
     * Stops (false) or resumes (true) reading the socket, as a slow consumer does: the broker's packets then pile
     * up in the socket buffers and, once those are full, the broker's channel to this client is no longer writable.
     */
    void autoRead(boolean on) {
        channel.config().setAutoRead(on);
    }

    void sendBytes(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        sendBytes(b);
    }

    void sendBytes(byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        channel.writeAndFlush(buf).syncUninterruptibly();
    }

    MqttConnAckMessage connack(MqttConnectMessage connect) throws InterruptedException {
        send(connect);
        return expectConnack();
    }

    /** The next packet, which must be a CONNACK (after a CONNECT sent as raw bytes, say). */
    MqttConnAckMessage expectConnack() throws InterruptedException {
        return (MqttConnAckMessage) expect(MqttMessageType.CONNACK);
    }

    /** CONNACK return code (3.x) or reason code (5.0), unsigned. */
    static int returnCode(MqttConnAckMessage ack) {
        return ack.variableHeader().connectReturnCode().byteValue() & 0xFF;
    }

    void publish(String topic, int qos, int packetId, String payload) {
        publish(topic, qos, false, packetId, payload.getBytes(StandardCharsets.UTF_8), null);
    }

    void publish(String topic, int qos, boolean retain, int packetId, byte[] payload, MqttProperties props) {
        send(Packets.publish(topic, qos, retain, false, packetId, payload, props));
    }

    /** PUBLISH QoS 1 and wait for its PUBACK; returns the PUBACK. */
    MqttMessage publish1(String topic, String payload, int packetId) throws InterruptedException {
        publish(topic, 1, packetId, payload);
        MqttMessage ack = expect(MqttMessageType.PUBACK);
        assertEquals(packetId, Packets.packetId(ack));
        return ack;
    }

    /** Retained QoS 1 PUBLISH, waits for the PUBACK (the retained store is updated before it). */
    void retain(String topic, String payload, int packetId) throws InterruptedException {
        publish(topic, 1, true, packetId, payload.getBytes(StandardCharsets.UTF_8), null);
        MqttMessage ack = expect(MqttMessageType.PUBACK);
        assertEquals(packetId, Packets.packetId(ack));
    }

    /** Full QoS 2 exchange as the sender. */
    void publish2(String topic, String payload, int packetId) throws InterruptedException {
        publish(topic, 2, packetId, payload);
        MqttMessage rec = expect(MqttMessageType.PUBREC);
        assertEquals(packetId, Packets.packetId(rec));
        send(Packets.ack(MqttMessageType.PUBREL, packetId));
        MqttMessage comp = expect(MqttMessageType.PUBCOMP);
        assertEquals(packetId, Packets.packetId(comp));
    }

    MqttSubAckMessage subscribe(int packetId, String filter, int qos) throws InterruptedException {
        send(MqttMessageBuilders.subscribe().messageId(packetId).addSubscription(MqttQoS.valueOf(qos), filter)
                .build());
        MqttSubAckMessage ack = (MqttSubAckMessage) expect(MqttMessageType.SUBACK);
        assertEquals(packetId, ack.variableHeader().messageId());
        return ack;
    }

    MqttSubAckMessage subscribe(int packetId, MqttProperties props, String filter, MqttSubscriptionOption option)
            throws InterruptedException {
        MqttMessageBuilders.SubscribeBuilder b = MqttMessageBuilders.subscribe().messageId(packetId)
                .addSubscription(filter, option);
        if (props != null) {
            b.properties(props);
        }
        send(b.build());
        MqttSubAckMessage ack = (MqttSubAckMessage) expect(MqttMessageType.SUBACK);
        assertEquals(packetId, ack.variableHeader().messageId());
        return ack;
    }

    /** Granted QoS / reason codes of a SUBACK. */
    static List<Integer> codes(MqttSubAckMessage ack) {
        return ack.payload().reasonCodes();
    }

    void ack(MqttMessageType type, int packetId) {
        send(Packets.ack(type, packetId));
    }

    /** Acknowledges a received PUBLISH as a well-behaved receiver would (QoS 2: PUBREC, wait PUBREL, PUBCOMP). */
    void acknowledge(MqttPublishMessage p) throws InterruptedException {
        int qos = p.fixedHeader().qosLevel().value();
        int id = p.variableHeader().packetId();
        if (qos == 1) {
            ack(MqttMessageType.PUBACK, id);
        } else if (qos == 2) {
            ack(MqttMessageType.PUBREC, id);
            MqttMessage rel = expect(MqttMessageType.PUBREL);
            assertEquals(id, Packets.packetId(rel));
            ack(MqttMessageType.PUBCOMP, id);
        }
    }

    void disconnect() {
        send(new MqttMessage(new MqttFixedHeader(MqttMessageType.DISCONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0)));
        channel.close().syncUninterruptibly();
    }

    void disconnect(int reasonCode, MqttProperties props) {
        send(new MqttMessage(new MqttFixedHeader(MqttMessageType.DISCONNECT, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttReasonCodeAndPropertiesVariableHeader((byte) reasonCode,
                        props == null ? MqttProperties.NO_PROPERTIES : props)));
        channel.close().syncUninterruptibly();
    }

    /** Closes the socket without DISCONNECT (an abnormal close for the broker). */
    void drop() {
        channel.close().syncUninterruptibly();
    }

    @Override
    public void close() {
        if (channel.isOpen()) {
            channel.close().syncUninterruptibly();
        }
    }

    // ------------------------------------------------------------------------------------------------ receive

    /** The next packet, or null after the timeout. */
    MqttMessage poll(long millis) throws InterruptedException {
        return received.poll(millis, TimeUnit.MILLISECONDS);
    }

    MqttMessage expect(MqttMessageType type) throws InterruptedException {
        MqttMessage m = poll(TIMEOUT_MS);
        assertNotNull(m, "expected " + type + " but nothing arrived");
        assertEquals(type, m.fixedHeader().messageType(), "unexpected packet " + m);
        return m;
    }

    MqttPublishMessage expectPublish() throws InterruptedException {
        return (MqttPublishMessage) expect(MqttMessageType.PUBLISH);
    }

    /** Expects a PUBLISH on the topic with the payload (topic aliases are not resolved here). */
    MqttPublishMessage expectPublish(String topic, String payload) throws InterruptedException {
        MqttPublishMessage p = expectPublish();
        assertEquals(topic, p.variableHeader().topicName());
        assertEquals(payload, Packets.text(p));
        return p;
    }

    /** Expects the broker's DISCONNECT (MQTT 5) and returns its reason code; also waits for the close. */
    int expectDisconnect() throws InterruptedException {
        MqttMessage m = expect(MqttMessageType.DISCONNECT);
        assertTrue(awaitClosed(), "connection not closed after DISCONNECT");
        return Packets.reasonCode(m);
    }

    boolean awaitClosed() throws InterruptedException {
        return closed.await(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    /** Makes the decoder read the broker's packets in this version's format (for CONNECTs sent as raw bytes). */
    void decodeAs(MqttVersion v) {
        channel.attr(io.netty.util.AttributeKey.<MqttVersion>valueOf("NETTY_CODEC_MQTT_VERSION")).set(v);
        version = v;
    }

    /** Stops reading from the socket (the broker's writes back up into its buffers), until {@link #resumeReading}. */
    void pauseReading() {
        channel.config().setAutoRead(false);
    }

    void resumeReading() {
        channel.config().setAutoRead(true);
    }

    /** This client's end of the connection (the broker's remote address for it). */
    java.net.InetSocketAddress localAddress() {
        return (java.net.InetSocketAddress) channel.localAddress();
    }

    boolean isOpen() {
        return channel.isActive();
    }

    /** Packets received so far and not yet taken. */
    int pending() {
        return received.size();
    }

    /** Waits until the broker closed the connection and asserts nothing but the given packet types arrived before. */
    void assertClosedWithoutPackets() throws InterruptedException {
        assertTrue(awaitClosed(), "connection was not closed");
        MqttMessage m = received.poll();
        assertEquals(null, m, "unexpected packet before close");
    }

    /**
     * Fence: sends PINGREQ and takes packets until the PINGRESP, returning what came before it. Everything the
     * broker wrote to this connection before handling the PINGREQ is in the list, so tests can assert that something
     * was NOT sent without sleeping.
     */
    List<MqttMessage> drainUntilPing() throws InterruptedException {
        send(new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGREQ, false, MqttQoS.AT_MOST_ONCE, false, 0)));
        List<MqttMessage> before = new java.util.ArrayList<>();
        while (true) {
            MqttMessage m = poll(TIMEOUT_MS);
            assertNotNull(m, "no PINGRESP");
            if (m.fixedHeader().messageType() == MqttMessageType.PINGRESP) {
                return before;
            }
            before.add(m);
        }
    }

    static int packetIdOf(MqttMessage m) {
        return ((MqttMessageIdVariableHeader) m.variableHeader()).messageId();
    }

    static MqttPublishVariableHeader vh(MqttPublishMessage p) {
        return p.variableHeader();
    }
}
