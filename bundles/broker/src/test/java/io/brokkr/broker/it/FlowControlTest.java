package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Flow control towards the broker (MQTT 5, section 4.9) with {@code receive.maximum = 10}: a client may have at
 * most Receive Maximum QoS 1 and QoS 2 PUBLISHes that the broker has not answered with PUBACK or PUBCOMP
 * [MQTT-3.3.4-7]; one more and the broker disconnects it with 0x93 (Receive Maximum exceeded).
 *
 * <p>What counts: the broker answers a QoS 1 PUBLISH with PUBACK as soon as it has handled it, so QoS 1 PUBLISHes
 * never stay unanswered on the broker's side, and a client that sends many of them without waiting is never over
 * the quota as the broker sees it (it cannot tell which PUBACKs the client has read; disconnecting would punish a
 * client whose PUBACKs are merely on their way). A QoS 2 PUBLISH stays unanswered from its PUBREC until the
 * PUBCOMP that follows the client's PUBREL. So the open QoS 2 flows are the count, and a PUBLISH of QoS 1
 * <em>or</em> 2 arriving while Receive Maximum of them are open is the one too many ([MQTT-3.3.4-7] counts QoS 1
 * and QoS 2 together). ([MQTT-3.3.4-8] only says that the client must go on sending other packets meanwhile:
 * PUBREL, PINGREQ and the like are never held back or counted.) The QoS 1 case is MQTT 5 only: 3.1.1 has no
 * Receive Maximum, and the broker bounds a 3.1.1 client's open QoS 2 flows only to protect itself.
 */
class FlowControlTest extends BrokerTestBase {

    static final int RECEIVE_MAXIMUM = 10;

    @Override
    Map<String, String> config() {
        return withReceiveMaximum(super.config());
    }

    /** {@code cfg} with {@code receive.maximum = }{@link #RECEIVE_MAXIMUM} (for the classes that run these flows). */
    static Map<String, String> withReceiveMaximum(Map<String, String> cfg) {
        cfg.put("receive.maximum", String.valueOf(RECEIVE_MAXIMUM));
        return cfg;
    }

    /** Connects like the paho test: clean start, Session Expiry 0; returns the Receive Maximum of the CONNACK. */
    private int connectAndReadReceiveMaximum(RawClient c) throws InterruptedException {
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_5, id("c"), true, 10,
                Packets.props(MqttPropertyType.SESSION_EXPIRY_INTERVAL, 0)));
        assertEquals(0, ack.variableHeader().connectReturnCode().byteValue());
        Integer rm = Packets.intProp(ack.variableHeader().properties(), MqttPropertyType.RECEIVE_MAXIMUM);
        return rm == null ? 65_535 : rm;
    }

    /**
     * As paho.mqtt.testing's {@code test_flow_control2} runs it with its own blocking client: Receive Maximum + 1 QoS 2
     * PUBLISHes sent without reading, then the client reads what came back one packet at a time and answers each
     * PUBREC with a PUBREL, as its receiver does, until it reads the DISCONNECT. By then the broker has sent
     * DISCONNECT 0x93 and is done with the connection; the PUBRELs arriving after that must not make it reset the
     * connection (a kernel answers data for a closed socket with RST, and the client's next write then fails with
     * "Broken pipe" before it reads the DISCONNECT): the broker half-closes and reads to the end instead.
     */
    @Test
    void pahoFlowControl2WithABlockingClientThatAnswersEveryPubrec() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            flowControl2WithABlockingClient(s, id("b"), RECEIVE_MAXIMUM, broker);
        }
    }

    /**
     * The scenario of {@link #pahoFlowControl2WithABlockingClientThatAnswersEveryPubrec} on a connected socket (plain
     * or TLS) of a broker with {@code receive.maximum = receiveMaximum}.
     */
    static void flowControl2WithABlockingClient(java.net.Socket s, String clientIdText, int receiveMaximum,
                                                io.brokkr.broker.engine.Broker broker) throws Exception {
        s.setSoTimeout((int) RawClient.TIMEOUT_MS);
        java.io.OutputStream out = s.getOutputStream();
        java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
        byte[] clientId = clientIdText.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream connect = new java.io.ByteArrayOutputStream();
        connect.write(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, (byte) clientId.length});
        connect.write(clientId);
        out.write(packet(0x10, connect.toByteArray()));
        out.flush();
        int[] connack = readPacket(in);
        assertEquals(0x20, connack[0] & 0xF0, "CONNACK");
        byte[] topic = ("fc/" + clientIdText).getBytes(StandardCharsets.UTF_8);
        for (int i = 1; i <= receiveMaximum + 1; i++) {
            java.io.ByteArrayOutputStream publish = new java.io.ByteArrayOutputStream();
            publish.write(new byte[] {0, (byte) topic.length});
            publish.write(topic);
            publish.write(new byte[] {(byte) (i >> 8), (byte) i, 0});
            publish.write(("message " + i).getBytes(StandardCharsets.UTF_8));
            out.write(packet(0x34, publish.toByteArray()));
        }
        out.flush();
        // the broker has read all of them and is done with the connection (its session, Session Expiry 0, is gone)
        // before the client reads anything
        io.brokkr.broker.Await.until("session ended", RawClient.TIMEOUT_MS,
                () -> broker.session(clientIdText) == null);
        int pubrecs = 0;
        int disconnectReason = -1;
        while (disconnectReason < 0) {
            int[] p = readPacket(in);
            if ((p[0] & 0xF0) == 0x50) { // PUBREC: answer it as the paho receiver does
                pubrecs++;
                out.write(new byte[] {0x62, 2, (byte) p[1], (byte) p[2]});
                out.flush();
            } else if ((p[0] & 0xF0) == 0xE0) {
                disconnectReason = p[1];
            }
        }
        assertEquals(receiveMaximum, pubrecs, "a PUBREC for each PUBLISH within Receive Maximum");
        assertEquals(0x93, disconnectReason, "Receive Maximum exceeded");
        assertEquals(-1, in.read(), "the broker closes its side after the DISCONNECT");
    }

    /** A packet with its fixed header (remaining length below 128). */
    private static byte[] packet(int firstByte, byte[] body) {
        byte[] p = new byte[body.length + 2];
        p[0] = (byte) firstByte;
        p[1] = (byte) body.length;
        System.arraycopy(body, 0, p, 2, body.length);
        return p;
    }

    /** Reads one packet: its first byte, then its body's bytes (unsigned). */
    private static int[] readPacket(java.io.DataInputStream in) throws java.io.IOException {
        int first = in.readUnsignedByte();
        int length = 0;
        for (int shift = 0, b; ; shift += 7) {
            b = in.readUnsignedByte();
            length |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        int[] p = new int[length + 1];
        p[0] = first;
        for (int i = 1; i <= length; i++) {
            p[i] = in.readUnsignedByte();
        }
        return p;
    }

    /** Opens {@code n} QoS 2 flows (PUBLISH, PUBREC received, no PUBREL), packet ids 1..n. */
    private static void openQos2Flows(RawClient c, String topic, int n) throws InterruptedException {
        for (int i = 1; i <= n; i++) {
            c.publish(topic, 2, i, "message " + i);
            MqttMessage rec = c.expect(MqttMessageType.PUBREC);
            assertEquals(i, Packets.packetId(rec));
            assertTrue(Packets.reasonCode(rec) < 0x80, "PUBREC " + i + " accepts the message");
        }
    }

    /**
     * paho.mqtt.testing, interoperability/client_test5.py, {@code test_flow_control2}: read the server's Receive
     * Maximum from CONNACK, send Receive Maximum + 1 QoS 2 PUBLISHes without completing any (no PUBREL), expect
     * DISCONNECT 0x93. Here the PUBLISHes also go out without waiting for the PUBRECs, as in the python test.
     */
    @Test
    void pahoFlowControl2Qos2BeyondReceiveMaximum() throws Exception {
        RawClient c = open();
        int serverReceiveMaximum = connectAndReadReceiveMaximum(c);
        assertEquals(RECEIVE_MAXIMUM, serverReceiveMaximum, "receive.maximum is announced in CONNACK");
        String topic = "fc/" + id("t"); // no subscriber, as in the python test: PUBREC 0x10 still opens the flow
        for (int i = 1; i <= serverReceiveMaximum + 1; i++) {
            c.publish(topic, 2, i, "message " + i);
        }
        for (int i = 1; i <= serverReceiveMaximum; i++) {
            MqttMessage rec = c.expect(MqttMessageType.PUBREC);
            assertEquals(i, Packets.packetId(rec));
        }
        assertEquals(0x93, c.expectDisconnect(), "Receive Maximum exceeded");
    }

    /** A QoS 1 PUBLISH while Receive Maximum QoS 2 flows are open is one unacknowledged PUBLISH too many. */
    @Test
    void qos1WhileReceiveMaximumQos2FlowsAreOpen() throws Exception {
        RawClient c = open();
        connectAndReadReceiveMaximum(c);
        String topic = "fc/" + id("t");
        openQos2Flows(c, topic, RECEIVE_MAXIMUM);
        c.publish(topic, 1, RECEIVE_MAXIMUM + 1, "one too many");
        assertEquals(0x93, c.expectDisconnect(), "Receive Maximum exceeded");
    }

    /**
     * QoS 1 PUBLISHes alone never exceed the quota: each is answered as it is handled, so 3 x Receive Maximum of
     * them sent back to back all get their PUBACK and the connection stays. With one slot left (9 QoS 2 flows
     * open) QoS 1 PUBLISHes still go through one by one.
     */
    @Test
    void qos1PublishesAreAnsweredAtOnceAndDoNotAccumulate() throws Exception {
        RawClient c = open();
        connectAndReadReceiveMaximum(c);
        String topic = "fc/" + id("t");
        int n = 3 * RECEIVE_MAXIMUM;
        for (int i = 1; i <= n; i++) {
            c.publish(topic, 1, i, "message " + i);
        }
        for (int i = 1; i <= n; i++) {
            assertEquals(i, Packets.packetId(c.expect(MqttMessageType.PUBACK)));
        }
        openQos2Flows(c, topic, RECEIVE_MAXIMUM - 1);
        for (int i = 100; i < 100 + n; i++) {
            c.publish1(topic, "message " + i, i);
        }
        assertTrue(c.drainUntilPing().isEmpty(), "nothing else sent");
        assertTrue(c.isOpen());
    }

    /**
     * The quota is given back by PUBCOMP: with Receive Maximum flows open, completing one (PUBREL, PUBCOMP) lets
     * one more in. A resent PUBLISH of an open flow (DUP) is not a new one and gets its PUBREC again
     * [MQTT-4.3.3-10]. [MQTT-3.3.4-8]: PUBREL and PINGREQ go on while the quota is used up.
     */
    @Test
    void pubcompGivesTheQuotaBack() throws Exception {
        RawClient c = open();
        connectAndReadReceiveMaximum(c);
        String topic = "fc/" + id("t");
        RawClient sub = v5("s");
        sub.subscribe(1, topic, 1); // QoS 1 deliveries: one PUBACK each, whatever the order
        openQos2Flows(c, topic, RECEIVE_MAXIMUM);
        c.send(Packets.publish(topic, 2, false, true, 1, "message 1".getBytes(StandardCharsets.UTF_8), null));
        assertEquals(1, Packets.packetId(c.expect(MqttMessageType.PUBREC)), "resent flow acknowledged again");
        assertTrue(c.drainUntilPing().isEmpty(), "PINGREQ answered while the quota is used up");
        c.ack(MqttMessageType.PUBREL, 1);
        assertEquals(1, Packets.packetId(c.expect(MqttMessageType.PUBCOMP)));
        c.publish(topic, 2, RECEIVE_MAXIMUM + 1, "message 11");
        assertEquals(RECEIVE_MAXIMUM + 1, Packets.packetId(c.expect(MqttMessageType.PUBREC)));
        for (int i = 2; i <= RECEIVE_MAXIMUM + 1; i++) {
            c.ack(MqttMessageType.PUBREL, i);
            assertEquals(i, Packets.packetId(c.expect(MqttMessageType.PUBCOMP)));
        }
        List<String> got = new java.util.ArrayList<>();
        for (int i = 0; i <= RECEIVE_MAXIMUM; i++) {
            var p = sub.expectPublish();
            got.add(Packets.text(p));
            sub.acknowledge(p);
        }
        assertEquals(RECEIVE_MAXIMUM + 1, got.size());
        assertTrue(got.contains("message 11"), got.toString());
        assertEquals(1, got.stream().filter("message 1"::equals).count(), "the resent PUBLISH is not routed again");
        assertTrue(c.isOpen());
    }
}
