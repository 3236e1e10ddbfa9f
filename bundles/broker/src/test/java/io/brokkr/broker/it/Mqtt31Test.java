package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/** MQTT 3.1 (protocol name MQIsdp, level 3): connect, pub/sub with a real 3.1 client, sessions, refusals. */
class Mqtt31Test extends BrokerTestBase {

    @Test
    void handMadeMqisdpConnect() throws Exception {
        RawClient c = open();
        c.sendBytes(Packets.rawConnect("MQIsdp", 3, 0x02, 10, null, utf8(id("raw"))));
        MqttConnAckMessage ack = c.expectConnack();
        assertEquals(0, RawClient.returnCode(ack));
        assertFalse(ack.variableHeader().isSessionPresent());
        assertEquals(2, ack.fixedHeader().remainingLength(), "3.x CONNACK without properties");
        c.subscribe(1, "m31/" + id("t"), 1);
        c.publish("m31/" + id("t"), 1, 2, "self");
        // its own message (no "no local" in 3.1) and the PUBACK; both are written on c's own event loop, so the
        // PINGREQ fence suffices here
        var got = c.drainUntilPing();
        assertEquals(2, got.size());
        assertTrue(got.stream().anyMatch(m -> m.fixedHeader().messageType() == MqttMessageType.PUBACK));
        assertTrue(got.stream().anyMatch(m -> m instanceof MqttPublishMessage p && Packets.text(p).equals("self")));
    }

    @Test
    void pahoMqtt31PublishesToRawSubscriberAndBack() throws Exception {
        String t = "m31/" + id("t");
        RawClient sub = v31("sub");
        sub.subscribe(1, t + "/x", 2);
        MqttClient paho = new MqttClient(uri, id("paho"), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1);
        o.setKeepAliveInterval(10);
        paho.connect(o);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(5);
        paho.subscribe(t + "/back", 2, (topic, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)
                + "@" + m.getQos()));
        for (int q = 0; q <= 2; q++) {
            paho.publish(t + "/x", utf8("p" + q), q, false);
            MqttPublishMessage p = sub.expectPublish(t + "/x", "p" + q);
            assertEquals(q, p.fixedHeader().qosLevel().value());
            sub.acknowledge(p);
        }
        for (int q = 0; q <= 2; q++) {
            if (q == 0) {
                sub.publish(t + "/back", 0, 0, "r0");
            } else if (q == 1) {
                sub.publish1(t + "/back", "r1", 11);
            } else {
                sub.publish2(t + "/back", "r2", 12);
            }
            assertEquals("r" + q + "@" + q, got.poll(5, TimeUnit.SECONDS));
        }
        paho.disconnect();
        paho.close();
    }

    @Test
    void persistentSessionAndRetained() throws Exception {
        String cid = id("s");
        String t = "m31/" + id("t");
        RawClient pub = v31("pub");
        pub.retain(t, "kept", 1);
        RawClient s = connect(Packets.connect(MqttVersion.MQTT_3_1, cid, false, 10, null));
        s.subscribe(1, t, 1);
        MqttPublishMessage r = s.expectPublish(t, "kept");
        assertTrue(r.fixedHeader().isRetain());
        s.acknowledge(r);
        s.disconnect();
        awaitOffline(cid);
        pub.publish1(t, "queued", 2);
        RawClient back = open();
        assertTrue(back.connack(Packets.connect(MqttVersion.MQTT_3_1, cid, false, 10, null)).variableHeader()
                .isSessionPresent());
        back.acknowledge(back.expectPublish(t, "queued"));
        back.send(MqttMessageBuilders.unsubscribe().messageId(3).addTopicFilter(t).build());
        assertEquals(3, Packets.packetId(back.expect(MqttMessageType.UNSUBACK)));
        pub.publish1(t, "after", 4);
        assertTrue(receivedBefore(back, pub).isEmpty(), "delivered after UNSUBACK");
        pub.retain(t, "", 5);
    }

    @Test
    void emptyClientIdIsRejected() throws Exception {
        RawClient c = open();
        c.sendBytes(Packets.rawConnect("MQIsdp", 3, 0x02, 10, null, new byte[0]));
        assertEquals(2, RawClient.returnCode(c.expectConnack()));
        assertTrue(c.awaitClosed());
    }

    @Test
    void takeover() throws Exception {
        RawClient a = v31("dup");
        RawClient b = v31("dup");
        a.assertClosedWithoutPackets();
        b.subscribe(1, "m31/" + id("t"), 0);
    }
}
