package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.bytes;
import static io.brokkr.broker.it.Packets.rawConnect;
import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.Map;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/** CONNECT / CONNACK: refusals and their codes per protocol level, keep alive, client identifiers, session present. */
class ConnectTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("keepalive.max", "10");
        m.put("max.client.id.length", "23");
        return m;
    }

    private static int rc(MqttConnAckMessage ack) {
        return RawClient.returnCode(ack);
    }

    // ------------------------------------------------------------------------------------------ protocol version

    @Test
    void unsupportedProtocolLevelAboveFiveGets0x84() throws Exception {
        RawClient c = open();
        c.decodeAs(MqttVersion.MQTT_5);
        c.sendBytes(rawConnect("MQTT", 6, 0x02, 30, bytes(0), utf8(id("a"))));
        MqttConnAckMessage ack = c.expectConnack();
        assertEquals(0x84, rc(ack));
        assertTrue(c.awaitClosed());
    }

    @Test
    void unsupportedProtocolLevelBelowFiveGetsReturnCode1() throws Exception {
        RawClient c = open();
        c.sendBytes(rawConnect("MQTT", 3, 0x02, 30, null, utf8(id("a"))));
        assertEquals(1, rc(c.expectConnack()));
        assertTrue(c.awaitClosed());

        RawClient d = open();
        d.sendBytes(rawConnect("MQIsdp", 4, 0x02, 30, null, utf8(id("b"))));
        assertEquals(1, rc(d.expectConnack()));
        assertTrue(d.awaitClosed());

        // Mosquitto bridges first try level 0x84 (bridge bit); they need 0x01 in a 3.1.1 CONNACK to retry without
        RawClient bridge = open();
        bridge.sendBytes(rawConnect("MQTT", 0x84, 0x02, 30, null, utf8(id("c"))));
        assertEquals(1, rc(bridge.expectConnack()));
        assertTrue(bridge.awaitClosed());
    }

    @Test
    void v5ConnectPropertyErrors() throws Exception {
        RawClient rm = open();
        assertEquals(0x82, rc(rm.connack(Packets.connect(MqttVersion.MQTT_5, id("a"), true, 5,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 0)))), "Receive Maximum 0");
        assertTrue(rm.awaitClosed());
        RawClient mps = open();
        assertEquals(0x82, rc(mps.connack(Packets.connect(MqttVersion.MQTT_5, id("b"), true, 5,
                Packets.props(MqttPropertyType.MAXIMUM_PACKET_SIZE, 0)))), "Maximum Packet Size 0");
        assertTrue(mps.awaitClosed());
        RawClient auth = open();
        assertEquals(0x8C, rc(auth.connack(Packets.connect(MqttVersion.MQTT_5, id("c"), true, 5,
                Packets.props(MqttPropertyType.AUTHENTICATION_METHOD, "SCRAM-SHA-1")))), "no enhanced auth");
        assertTrue(auth.awaitClosed());
    }

    @Test
    void pahoConnectsWithMqtt31() throws Exception {
        MqttClient p = new MqttClient(uri, id("paho"), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1);
        o.setKeepAliveInterval(5);
        p.connect(o);
        assertTrue(p.isConnected());
        p.disconnect();
        p.close();
    }

    // ------------------------------------------------------------------------------------------ client identifier

    @Test
    void v311EmptyClientIdWithCleanSessionIsAccepted() throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_3_1_1, "", true, 5, null));
        assertEquals(0, rc(ack));
        assertFalse(ack.variableHeader().isSessionPresent());
        c.subscribe(1, "x/" + id("t"), 0); // the connection works
    }

    @Test
    void v311EmptyClientIdWithoutCleanSessionIsRejected() throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_3_1_1, "", false, 5, null));
        assertEquals(2, rc(ack));
        assertTrue(c.awaitClosed());
    }

    @Test
    void v5EmptyClientIdGetsAssignedIdentifier() throws Exception {
        RawClient a = open();
        MqttConnAckMessage ack = a.connack(Packets.connect(MqttVersion.MQTT_5, "", true, 5, null));
        assertEquals(0, rc(ack));
        String assigned = Packets.stringProp(ack.variableHeader().properties(),
                MqttPropertyType.ASSIGNED_CLIENT_IDENTIFIER);
        assertNotNull(assigned);
        assertFalse(assigned.isEmpty());

        Mqtt5BlockingClient h = Mqtt5Client.builder().serverHost("127.0.0.1").serverPort(port).buildBlocking();
        Mqtt5ConnAck hack = h.connectWith().keepAlive(5).send();
        String other = hack.getAssignedClientIdentifier().map(Object::toString).orElse(null);
        assertNotNull(other);
        assertNotEquals(assigned, other);
        h.disconnect();
    }

    @Test
    void tooLongClientIdIsRejected() throws Exception {
        String longId = "x".repeat(30);
        RawClient v5 = open();
        assertEquals(0x85, rc(v5.connack(Packets.connect(MqttVersion.MQTT_5, longId, true, 5, null))));
        assertTrue(v5.awaitClosed());
        RawClient v3 = open();
        assertEquals(2, rc(v3.connack(Packets.connect(MqttVersion.MQTT_3_1_1, longId, true, 5, null))));
        assertTrue(v3.awaitClosed());
        RawClient v31 = open();
        v31.sendBytes(rawConnect("MQIsdp", 3, 0x02, 5, null, utf8(longId)));
        assertEquals(2, rc(v31.expectConnack()));
        assertTrue(v31.awaitClosed());
    }

    // ------------------------------------------------------------------------------------------ malformed

    @Test
    void v5ConnectWithReservedFlagGetsMalformed() throws Exception {
        RawClient c = open();
        c.decodeAs(MqttVersion.MQTT_5);
        c.sendBytes(rawConnect("MQTT", 5, 0x03, 30, bytes(0), utf8(id("a"))));
        assertEquals(0x81, rc(c.expectConnack()));
        assertTrue(c.awaitClosed());
    }

    @Test
    void v311ConnectWithReservedFlagIsClosed() throws Exception {
        RawClient c = open();
        c.sendBytes(rawConnect("MQTT", 4, 0x03, 30, null, utf8(id("a"))));
        c.assertClosedWithoutPackets();
    }

    @Test
    void firstPacketOtherThanConnectIsClosed() throws Exception {
        RawClient c = open();
        c.sendBytes(0xC0, 0x00); // PINGREQ
        c.assertClosedWithoutPackets();
    }

    @Test
    void secondConnectIsAProtocolError() throws Exception {
        RawClient c = v5("a");
        c.send(Packets.connect(MqttVersion.MQTT_5, id("a"), true, 5, null));
        assertEquals(0x82, c.expectDisconnect());
        RawClient d = v311("b");
        d.send(Packets.connect(MqttVersion.MQTT_3_1_1, id("b"), true, 5, null));
        d.assertClosedWithoutPackets();
    }

    // ------------------------------------------------------------------------------------------ keep alive

    @Test
    void serverKeepAliveCapsV5KeepAlive() throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_5, id("a"), true, 60, null));
        assertEquals(0, rc(ack));
        assertEquals(10, Packets.intProp(ack.variableHeader().properties(), MqttPropertyType.SERVER_KEEP_ALIVE));

        RawClient z = open();
        MqttConnAckMessage ack0 = z.connack(Packets.connect(MqttVersion.MQTT_5, id("z"), true, 0, null));
        assertEquals(10, Packets.intProp(ack0.variableHeader().properties(), MqttPropertyType.SERVER_KEEP_ALIVE),
                "keep alive 0 (off) is not allowed with keepalive.max set");

        Mqtt5BlockingClient h = Mqtt5Client.builder().identifier(id("h")).serverHost("127.0.0.1").serverPort(port)
                .buildBlocking();
        Mqtt5ConnAck hack = h.connectWith().keepAlive(120).send();
        assertEquals(10, hack.getServerKeepAlive().orElse(-1));
        h.disconnect();
    }

    @Test
    void v311KeepAliveAboveMaximumIsRefusedLikeMosquitto() throws Exception {
        RawClient c = open();
        assertEquals(2, rc(c.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("a"), true, 60, null))));
        assertTrue(c.awaitClosed());
        RawClient ok = open();
        assertEquals(0, rc(ok.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("b"), true, 10, null))));
    }

    @Test
    void silentClientIsDisconnectedAfterOneAndAHalfKeepAlives() throws Exception {
        RawClient c = open();
        assertEquals(0, rc(c.connack(Packets.connect(MqttVersion.MQTT_5, id("a"), true, 1, null))));
        long connected = System.nanoTime(); // the keep alive timer started before this
        assertEquals(0x8D, c.expectDisconnect());
        assertClosedAfterOneAndAHalfKeepAlives(connected);
        RawClient d = open();
        assertEquals(0, rc(d.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("b"), true, 1, null))));
        connected = System.nanoTime();
        d.assertClosedWithoutPackets();
        assertClosedAfterOneAndAHalfKeepAlives(connected);
    }

    /** Keep alive 1 s: not closed before 1.5 s [MQTT-3.1.2-24] (a little less for the time the CONNACK took). */
    private static void assertClosedAfterOneAndAHalfKeepAlives(long connectedNanos) {
        long waited = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedNanos);
        assertTrue(waited >= 1_400, "closed after " + waited + " ms, before 1.5 x keep alive 1 s");
    }

    // ------------------------------------------------------------------------------------------ session present

    @Test
    void sessionPresentFlagV5() throws Exception {
        RawClient a = open();
        MqttConnAckMessage first = a.connack(Packets.connect5(id("s"), false, 60));
        assertFalse(first.variableHeader().isSessionPresent(), "no session yet");
        a.disconnect();
        RawClient b = open();
        assertTrue(b.connack(Packets.connect5(id("s"), false, 60)).variableHeader().isSessionPresent());
        b.disconnect();
        RawClient c = open();
        assertFalse(c.connack(Packets.connect5(id("s"), true, 60)).variableHeader().isSessionPresent(),
                "clean start discards the session");
        c.disconnect();
    }

    @Test
    void sessionPresentFlagV311() throws Exception {
        RawClient a = open();
        assertFalse(a.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("s"), false, 5, null))
                .variableHeader().isSessionPresent());
        a.disconnect();
        RawClient b = open();
        assertTrue(b.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("s"), false, 5, null))
                .variableHeader().isSessionPresent());
        b.disconnect();
        RawClient c = open();
        assertFalse(c.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("s"), true, 5, null))
                .variableHeader().isSessionPresent());
        c.disconnect();
        RawClient d = open();
        assertFalse(d.connack(Packets.connect(MqttVersion.MQTT_3_1_1, id("s"), false, 5, null))
                .variableHeader().isSessionPresent(), "clean session ended the session at disconnect");
    }

    // ------------------------------------------------------------------------------------------ takeover

    @Test
    void takeoverV5SendsSessionTakenOver() throws Exception {
        RawClient old = v5("dup");
        RawClient neu = v5("dup");
        assertEquals(0x8E, old.expectDisconnect());
        assertTrue(neu.isOpen());
        neu.subscribe(1, "t/" + id("x"), 1);
    }

    @Test
    void takeoverV311ClosesOldConnection() throws Exception {
        RawClient old = v311("dup");
        RawClient neu = v311("dup");
        old.assertClosedWithoutPackets();
        neu.subscribe(1, "t/" + id("x"), 1);
    }

    @Test
    void takeoverWithPaho() throws Exception {
        MqttClient a = new MqttClient(uri, id("p"), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setKeepAliveInterval(5);
        o.setAutomaticReconnect(false);
        java.util.concurrent.CountDownLatch lost = new java.util.concurrent.CountDownLatch(1);
        a.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            public void connectionLost(Throwable cause) {
                lost.countDown();
            }

            public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
            }

            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });
        a.connect(o);
        MqttClient b = new MqttClient(uri, id("p"), new MemoryPersistence());
        b.connect(o);
        assertTrue(lost.await(5, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(b.isConnected());
        b.disconnect();
        b.close();
        a.close();
    }
}
