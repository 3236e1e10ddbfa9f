package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BrokerStats;
import io.brokkr.broker.config.ListenerConfig;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code type = ws}: MQTT over WebSocket. MQTT.js under node as the outside client (QoS 0/1/2, MQTT 5 user
 * properties, 3.1.1), across transports with Paho and {@code mosquitto_pub} over TCP, Paho v3 over {@code ws://},
 * and a raw WebSocket client for how packets are cut into frames, text frames, the path and the subprotocols.
 * ({@code mosquitto_pub} 2.0.11 of Debian is built without WebSocket support: it is used over TCP only.)
 */
class WebSocketListenerTest extends BrokerTestBase {

    int wsPort;
    String wsUrl;

    @BeforeAll
    void openWebSocketListener() {
        NodeClient.checkInstalled();
        wsPort = broker.openListener(new ListenerConfig("ws", "ws", "127.0.0.1", 0, null, Map.of("path", "/mqtt")))
                .port();
        wsUrl = "ws://127.0.0.1:" + wsPort + "/mqtt";
    }

    private static String json(String topic, String payload, int qos, boolean userProperty) {
        return "{\"topic\":\"" + topic + "\",\"payload\":\"" + payload + "\",\"qos\":" + qos + ",\"userProperties\":"
                + (userProperty ? "{\"source\":\"mqtt.js\"}" : "{}") + "}";
    }

    private List<String> roundTrip(String version) throws Exception {
        String prefix = "ws/" + id("rt");
        try (NodeClient node = NodeClient.start(Map.of("MQTT_VERSION", version, "CLIENT_ID", id("js")), wsUrl,
                "roundtrip", prefix)) {
            List<String> messages = new ArrayList<>(node.finish().stream().filter(l -> l.startsWith("{")).toList());
            messages.sort(null); // QoS 2 is handed to the application at PUBREL: the order may differ
            return messages;
        }
    }

    @Test
    void mqttJsV5RoundTrip() throws Exception {
        List<String> got = roundTrip("5");
        String prefix = "ws/" + id("rt");
        assertEquals(List.of(json(prefix + "/q0", "hello 0", 0, true), json(prefix + "/q1", "hello 1", 1, true),
                json(prefix + "/q2", "hello 2", 2, true)), got);
    }

    @Test
    void mqttJsV311RoundTrip() throws Exception {
        List<String> got = roundTrip("4");
        String prefix = "ws/" + id("rt");
        assertEquals(List.of(json(prefix + "/q0", "hello 0", 0, false), json(prefix + "/q1", "hello 1", 1, false),
                json(prefix + "/q2", "hello 2", 2, false)), got);
    }

    /** MQTT.js over ws publishes, Paho MQTT 5 over TCP receives the message and its user property. */
    @Test
    void mqttJsToPahoOverTcp() throws Exception {
        String topic = "x/" + id("t");
        BlockingQueue<org.eclipse.paho.mqttv5.common.MqttMessage> got = new ArrayBlockingQueue<>(1);
        org.eclipse.paho.mqttv5.client.MqttClient sub = new org.eclipse.paho.mqttv5.client.MqttClient(uri,
                id("ps"), new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
        try {
            sub.connect(new MqttConnectionOptions());
            sub.subscribe(new MqttSubscription[] {new MqttSubscription(topic, 2)},
                    new IMqttMessageListener[] {(t, m) -> got.add(m)});
            try (NodeClient node = NodeClient.start(Map.of("CLIENT_ID", id("js")), wsUrl, "pub", topic,
                    "from mqtt.js", "2")) {
                node.finish();
            }
            org.eclipse.paho.mqttv5.common.MqttMessage m = got.poll(10, TimeUnit.SECONDS);
            assertNotNull(m, "Paho over TCP did not receive MQTT.js's message");
            assertEquals("from mqtt.js", new String(m.getPayload(), StandardCharsets.UTF_8));
            assertEquals(2, m.getQos());
            assertEquals(List.of(new UserProperty("source", "mqtt.js")), m.getProperties().getUserProperties());
        } finally {
            sub.disconnect();
            sub.close();
        }
    }

    /** mosquitto_pub over TCP publishes, MQTT.js over ws receives. */
    @Test
    void mosquittoPubToMqttJs() throws Exception {
        String topic = "x/" + id("m");
        try (NodeClient node = NodeClient.start(Map.of("CLIENT_ID", id("js")), wsUrl, "sub", topic, "2")) {
            node.awaitLine("SUBSCRIBED");
            run("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V", "mqttv5", "-q", "1", "-t",
                    topic, "-m", "from mosquitto", "-D", "publish", "user-property", "source", "mosquitto_pub");
            run("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V", "mqttv311", "-q", "2", "-t",
                    topic, "-m", "again");
            List<String> out = node.finish();
            assertTrue(out.contains("{\"topic\":\"" + topic + "\",\"payload\":\"from mosquitto\",\"qos\":1,"
                    + "\"userProperties\":{\"source\":\"mosquitto_pub\"}}"), "output: " + out);
            assertTrue(out.contains("{\"topic\":\"" + topic + "\",\"payload\":\"again\",\"qos\":2,"
                    + "\"userProperties\":{}}"), "output: " + out);
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
    }

    /** Paho v3 speaks MQTT over WebSocket itself (ws:// URIs): to and from a Paho client over TCP. */
    @Test
    void pahoV3OverWebSocket() throws Exception {
        String topic = "p/" + id("t");
        BlockingQueue<String> overTcp = new ArrayBlockingQueue<>(4);
        BlockingQueue<String> overWs = new ArrayBlockingQueue<>(4);
        MqttClient ws = new MqttClient(wsUrl, id("w"), new MemoryPersistence());
        MqttClient tcp = new MqttClient(uri, id("t"), new MemoryPersistence());
        try {
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            ws.connect(o);
            tcp.connect(o);
            ws.subscribe(topic + "/fromTcp", 2, (t, m) -> overWs.add(new String(m.getPayload(),
                    StandardCharsets.UTF_8) + " q" + m.getQos()));
            tcp.subscribe(topic + "/fromWs", 2, (t, m) -> overTcp.add(new String(m.getPayload(),
                    StandardCharsets.UTF_8) + " q" + m.getQos()));
            ws.publish(topic + "/fromWs", message("over ws", 1));
            tcp.publish(topic + "/fromTcp", message("over tcp", 2));
            byte[] big = new byte[200_000]; // one packet larger than Netty's default frame limit of 64 KiB
            java.util.Arrays.fill(big, (byte) 'b');
            ws.publish(topic + "/fromWs", message(new String(big, StandardCharsets.US_ASCII), 1));
            assertEquals("over ws q1", overTcp.poll(10, TimeUnit.SECONDS));
            assertEquals("over tcp q2", overWs.poll(10, TimeUnit.SECONDS));
            assertEquals(new String(big, StandardCharsets.US_ASCII) + " q1", overTcp.poll(10, TimeUnit.SECONDS));
            assertTrue(broker.clients().stream().anyMatch(c -> c.clientId().equals(id("w"))
                    && c.listener().equals("ws")), "mqtt:clients shows the ws listener");
        } finally {
            ws.disconnect();
            ws.close();
            tcp.disconnect();
            tcp.close();
        }
    }

    private static MqttMessage message(String text, int qos) {
        MqttMessage m = new MqttMessage(text.getBytes(StandardCharsets.UTF_8));
        m.setQos(qos);
        return m;
    }

    private WsRawClient rawWs(String subprotocols) throws IOException {
        WsRawClient c = track(WsRawClient.open(wsPort, "/mqtt", subprotocols, null));
        assertTrue(c.status.startsWith("HTTP/1.1 101"), "upgrade refused: " + c.status);
        return c;
    }

    private byte[] connectBytes(String clientId) {
        return WsRawClient.encode(Packets.connect(MqttVersion.MQTT_3_1_1, clientId, true, 30, null));
    }

    @Test
    void packetSplitOverFramesAndSeveralPacketsInOneFrame() throws Exception {
        WsRawClient c = rawWs("mqtt");
        byte[] connect = connectBytes(id("raw"));
        // the CONNECT cut in three: a binary frame, then a fragmented message (binary without FIN, continuation)
        c.binary(java.util.Arrays.copyOfRange(connect, 0, 3));
        c.frame(WsRawClient.OP_BINARY, false, java.util.Arrays.copyOfRange(connect, 3, 9));
        c.frame(WsRawClient.OP_CONTINUATION, true, java.util.Arrays.copyOfRange(connect, 9, connect.length));
        MqttConnAckMessage ack = (MqttConnAckMessage) c.expect(MqttMessageType.CONNACK);
        assertEquals(0, RawClient.returnCode(ack));
        String topic = "raw/" + id("t");
        // SUBSCRIBE, PUBLISH QoS 1 and PINGREQ in one frame
        byte[] subscribe = WsRawClient.encode(MqttMessageBuilders.subscribe().messageId(1)
                .addSubscription(MqttQoS.AT_LEAST_ONCE, topic).build());
        byte[] publish = WsRawClient.encode(Packets.publish(topic, 1, false, false, 2, Packets.utf8("in one frame"),
                null));
        c.binary(Packets.concat(subscribe, publish, Packets.bytes(0xC0, 0x00)));
        c.expect(MqttMessageType.SUBACK);
        List<MqttMessageType> next = new ArrayList<>();
        MqttPublishMessage delivered = null;
        for (int i = 0; i < 3; i++) {
            io.netty.handler.codec.mqtt.MqttMessage m = c.poll(RawClient.TIMEOUT_MS);
            assertNotNull(m, "after SUBACK: " + next);
            next.add(m.fixedHeader().messageType());
            if (m instanceof MqttPublishMessage p) {
                delivered = p;
            }
        }
        assertEquals(java.util.Set.of(MqttMessageType.PINGRESP, MqttMessageType.PUBACK, MqttMessageType.PUBLISH),
                java.util.Set.copyOf(next), "PUBACK, the delivery and PINGRESP: " + next);
        assertEquals("in one frame", Packets.text(delivered));
    }

    @Test
    void textFrameCloses() throws Exception {
        WsRawClient c = rawWs("mqtt");
        c.binary(connectBytes(id("txt")));
        c.expect(MqttMessageType.CONNACK);
        c.frame(WsRawClient.OP_TEXT, true, "hello".getBytes(StandardCharsets.UTF_8));
        assertTrue(c.awaitClosed(), "connection closed after a text frame");
        assertEquals(1003, c.closeStatus(), "close status 1003 (unsupported data)");
        awaitOffline(id("txt"));
    }

    /**
     * A connection the broker ends (here for a second CONNECT, a protocol error) gets a WebSocket Close frame with
     * status 1000 after its last packet, not a bare TCP close [RFC 6455 5.5.1].
     */
    @Test
    void brokerDisconnectEndsWithACloseFrame() throws Exception {
        WsRawClient c = rawWs("mqtt");
        c.binary(connectBytes(id("bye")));
        c.expect(MqttMessageType.CONNACK);
        c.binary(connectBytes(id("bye"))); // a second CONNECT [MQTT-3.1.0-2]
        assertTrue(c.awaitClosed(), "connection closed after a protocol error");
        assertEquals(1000, c.closeStatus(), "close status 1000 (normal closure)");
        awaitOffline(id("bye"));
    }

    @Test
    void wrongPathIs404() throws Exception {
        WsRawClient c = track(WsRawClient.open(wsPort, "/other", "mqtt", null));
        assertTrue(c.status.startsWith("HTTP/1.1 404"), c.status);
        try (Socket s = new Socket("127.0.0.1", wsPort)) { // a plain GET (no upgrade) for the right path
            s.getOutputStream().write(("GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 400", response, "plain GET (no upgrade) refused");
        }
    }

    @Test
    void subprotocols() throws Exception {
        assertEquals("mqtt", rawWs("mqtt").headers.get("sec-websocket-protocol"));
        assertEquals("mqttv3.1", rawWs("mqttv3.1").headers.get("sec-websocket-protocol"));
        assertEquals("mqtt", rawWs("chat, mqtt").headers.get("sec-websocket-protocol"));
    }

    /** $SYS bytes count MQTT bytes, not the HTTP upgrade or the frame headers. */
    @Test
    void byteCountersCountMqttBytes() throws Exception {
        WsRawClient c = rawWs("mqtt");
        BrokerStats before = broker.stats();
        byte[] connect = connectBytes(id("b"));
        c.binary(connect);
        c.expect(MqttMessageType.CONNACK);                // 4 bytes
        c.binary(Packets.bytes(0xC0, 0x00));              // PINGREQ
        c.expect(MqttMessageType.PINGRESP);               // 2 bytes
        long received = connect.length + 2;
        long sent = 4 + 2;
        long deadline = System.nanoTime() + 10_000_000_000L;
        BrokerStats now = broker.stats();
        while ((now.bytesReceived() - before.bytesReceived() != received
                || now.bytesSent() - before.bytesSent() != sent) && System.nanoTime() < deadline) {
            Thread.sleep(20); // the counters are updated on the connection's loop
            now = broker.stats();
        }
        assertEquals(received, now.bytesReceived() - before.bytesReceived(), "bytes received");
        assertEquals(sent, now.bytesSent() - before.bytesSent(), "bytes sent");
    }
}
