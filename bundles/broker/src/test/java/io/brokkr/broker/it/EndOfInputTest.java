package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.bytes;
import static io.brokkr.broker.it.Packets.concat;
import static io.brokkr.broker.it.Packets.frame;
import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A client that closes its side of the connection right after its last packet, without waiting for anything (a
 * sensor's fire-and-forget: CONNECT, PUBLISH, DISCONNECT, close; or {@code nc}): everything it sent before the close
 * is processed, in order, as Mosquitto does. Its packets arrive in one read with CONNECT, so they wait for the
 * CONNECT's authentication; the close used to end the connection meanwhile and drop them (0 of 20 messages arrived;
 * Mosquitto 2.0.11 delivered 100 of 100).
 */
class EndOfInputTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.queued.messages", "20"); // a subscriber that does not read for a moment slows its publishers
        return m;
    }

    /** CONNECT, clean, keep alive 30; with a QoS 0 will on {@code willTopic} unless null. */
    private static byte[] connect(int level, String clientId, String willTopic) {
        int flags = 0x02 | (willTopic == null ? 0 : 0x04);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(Packets.mqttString("MQTT"));
        b.writeBytes(bytes(level, flags, 0, 30));
        if (level == 5) {
            b.write(0); // no properties
        }
        b.writeBytes(Packets.mqttString(clientId));
        if (willTopic != null) {
            if (level == 5) {
                b.write(0);
            }
            b.writeBytes(Packets.mqttString(willTopic));
            b.writeBytes(Packets.mqttString("gone"));
        }
        return frame(0x10, b.toByteArray());
    }

    private static byte[] publish(int level, String topic, String payload, int qos) {
        return frame(0x30 | qos << 1, concat(Packets.mqttString(topic), qos > 0 ? bytes(0, 1) : bytes(),
                level == 5 ? bytes(0) : bytes(), utf8(payload)));
    }

    /** Messages a held-packets test over TCP publishes in one write. */
    private static final int HELD = 300;

    /** {@code n} QoS 0 PUBLISHes to {@code topic}, payloads "0 xxx..", "1 xxx..", ... (100 x). */
    private static ByteArrayOutputStream numberedPublishes(int level, String topic, int n) {
        String pad = "x".repeat(100);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            all.writeBytes(publish(level, topic, i + " " + pad, 0));
        }
        return all;
    }

    private static byte[] disconnect() {
        return bytes(0xE0, 0);
    }

    private void sendAndClose(byte[] data) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(data);
        }
    }

    @ParameterizedTest(name = "MQTT level {0}")
    @ValueSource(ints = {4, 5})
    void packetsSentRightBeforeTheCloseAreProcessed(int level) throws Exception {
        RawClient sub = v311("sub");
        String topic = "fire/" + id("t");
        sub.subscribe(1, topic, 0);
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            sent.add("m" + i);
            sendAndClose(concat(connect(level, id("c" + i), null), publish(level, topic, "m" + i, 0), disconnect()));
        }
        Set<String> got = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            got.add(Packets.text(sub.expectPublish()));
        }
        assertEquals(sent, got);
    }

    @ParameterizedTest(name = "MQTT level {0}")
    @ValueSource(ints = {4, 5})
    void aHalfClosedClientReadsItsAnswersAndThenTheEnd(int level) throws Exception {
        RawClient sub = v311("sub");
        String topic = "half/" + id("t");
        sub.subscribe(1, topic, 1);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write(concat(connect(level, id("c"), null), publish(level, topic, "q1", 1)));
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            byte[] all = in.readAllBytes(); // until the broker closes: it does not wait for anything else
            assertTrue(all.length >= 4 && all[0] == 0x20, "CONNACK first: " + java.util.Arrays.toString(all));
        }
        MqttPublishMessage p = sub.expectPublish();
        assertEquals("q1", Packets.text(p));
        sub.acknowledge(p);
    }

    @ParameterizedTest(name = "MQTT level {0}")
    @ValueSource(ints = {4, 5})
    void aWillIsSentForACloseWithoutDisconnectAndNotAfterOne(int level) throws Exception {
        RawClient sub = v311("sub");
        String will = "will/" + id("t");
        sub.subscribe(1, will, 0);
        // CONNECT with a will, then the close: the client did connect and went away without DISCONNECT
        sendAndClose(connect(level, id("w1"), will));
        MqttPublishMessage p = sub.expectPublish();
        assertEquals(will, p.variableHeader().topicName());
        assertEquals("gone", Packets.text(p));
        // CONNECT with a will, DISCONNECT, then the close: no will
        sendAndClose(concat(connect(level, id("w2"), will), disconnect()));
        // processed once its connection is gone (it stays open, half-closed, until its packets are processed)
        io.brokkr.broker.Await.until("only the subscriber's connection is open", 5_000,
                () -> broker.listeners().get(0).connections() == 1);
        List<MqttMessage> before = fence(sub);
        assertTrue(before.stream().noneMatch(m -> m instanceof MqttPublishMessage), "no will: " + before);
    }

    /**
     * A publisher whose reads are paused by back-pressure (its subscriber's queue is full) while its last packets
     * wait in the broker, and which closes meanwhile: they are processed when reads resume, not dropped with the
     * connection.
     */
    @ParameterizedTest(name = "MQTT level {0}")
    @ValueSource(ints = {4, 5})
    void packetsHeldByBackPressureWhenTheClientClosesAreProcessed(int level) throws Exception {
        RawClient sub = v311("sub");
        String topic = "held/" + id("t");
        sub.subscribe(1, topic, 0);
        ByteArrayOutputStream all = numberedPublishes(level, topic, HELD);
        all.writeBytes(disconnect());
        long pausedBefore = broker.publishersPaused();
        sub.pauseReading();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write(connect(level, id("p"), null));
            assertEquals(0x20, s.getInputStream().read(), "CONNACK"); // connected: nothing waits for it below
            s.getOutputStream().write(all.toByteArray());
        }
        // resumed before the 500 ms after which a paused publisher is read again anyway
        onceThePublisherIsPausedReadNumbered(sub, pausedBefore, HELD);
    }

    /**
     * The same over WebSocket, where a client ends with a Close frame (MQTT.js's {@code end()} sends DISCONNECT and
     * then one): the packets held by back-pressure when the Close frame is read are processed, then the broker answers
     * the Close. Netty's WebSocket handler used to answer it and close the connection at once, dropping what was
     * held (by hand, MQTT.js publishing 100,000 messages over ws into a slow subscriber lost the last 68 and 162 in 2
     * of 10 runs).
     */
    @org.junit.jupiter.api.Test
    void packetsHeldByBackPressureWhenAWebSocketClientSendsCloseAreProcessed() throws Exception {
        int wsPort = broker.openListener(new io.brokkr.broker.config.ListenerConfig("ws-" + id("l"), "ws",
                "127.0.0.1", 0, null, Map.of("path", "/mqtt"))).port();
        RawClient sub = v311("sub");
        String topic = "held/" + id("t");
        sub.subscribe(1, topic, 0);
        // more than over TCP: the WebSocket frame is decoded before the packets, which gives the subscriber's loop
        // time to keep up with the hand-offs, and then the publisher is not paused
        int n = 10 * HELD;
        ByteArrayOutputStream all = numberedPublishes(4, topic, n);
        long pausedBefore = broker.publishersPaused();
        sub.pauseReading();
        try (WsRawClient ws = WsRawClient.open(wsPort, "/mqtt", "mqtt", null)) {
            ws.binary(connect(4, id("p"), null));
            ws.expect(io.netty.handler.codec.mqtt.MqttMessageType.CONNACK);
            ws.binary(all.toByteArray());
            ws.frame(WsRawClient.OP_CLOSE, true, bytes(0x03, 0xE8)); // 1000, normal closure
            onceThePublisherIsPausedReadNumbered(sub, pausedBefore, n);
            assertTrue(ws.awaitClosed(), "the broker did not close the connection after the Close frame");
            assertEquals(1000, ws.closeStatus(), "the broker's Close frame");
        }
    }

    /**
     * Waits until a publisher is paused (more pauses than {@code pausedBefore}), lets {@code sub} read again, and
     * expects the {@code n} numbered messages of {@link #numberedPublishes}, in order, none missing.
     */
    private void onceThePublisherIsPausedReadNumbered(RawClient sub, long pausedBefore, int n) throws Exception {
        io.brokkr.broker.Await.until("the publisher is paused", 5_000,
                () -> broker.publishersPaused() > pausedBefore);
        sub.resumeReading();
        for (int i = 0; i < n; i++) {
            String text = Packets.text(sub.expectPublish());
            assertEquals(i, Integer.parseInt(text.substring(0, text.indexOf(' '))), "in order, none missing");
        }
    }

    /**
     * A connection the broker ends (here for a second CONNECT, a protocol error) after its client has closed its side
     * closes as soon as the DISCONNECT is out: with both directions shut down there is nothing to linger for (the
     * broker's lingering close waits up to 1 s only for a client that has not closed its side).
     */
    @ParameterizedTest(name = "MQTT level {0}")
    @ValueSource(ints = {4, 5})
    void aConnectionEndedByTheBrokerAfterTheClientsCloseClosesAtOnce(int level) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write(concat(connect(level, id("c"), null), connect(level, id("c"), null)));
            s.shutdownOutput();
            long t0 = System.nanoTime();
            byte[] all = s.getInputStream().readAllBytes();
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(all.length >= 4 && all[0] == 0x20, "CONNACK first: " + java.util.Arrays.toString(all));
            if (level == 5) {
                int d = 2 + all[1]; // behind the CONNACK
                assertEquals((byte) 0xE0, all[d], "then DISCONNECT: " + java.util.Arrays.toString(all));
                assertEquals((byte) 0x82, all[d + 2], "protocol error");
            }
            assertTrue(millis < CLOSE_WAIT_MILLIS, "closed after " + millis + " ms");
        }
    }

    /** Well below the 1 s a lingering close waits for a client that has not closed its side. */
    private static final long CLOSE_WAIT_MILLIS = 700;
}
