package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/** QoS 0/1/2 in both directions, exactly once, the inflight window and retransmission of unacknowledged messages. */
class QosTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.inflight", "5");
        return m;
    }

    private void roundTrip(RawClient pub, RawClient sub, String topic) throws Exception {
        sub.subscribe(1, topic, 2);
        for (int q = 0; q <= 2; q++) {
            String payload = "q" + q;
            if (q == 0) {
                pub.publish(topic, 0, 0, payload);
            } else if (q == 1) {
                pub.publish1(topic, payload, 10);
            } else {
                pub.publish2(topic, payload, 11);
            }
            MqttPublishMessage p = sub.expectPublish(topic, payload);
            assertEquals(q, p.fixedHeader().qosLevel().value());
            assertFalse(p.fixedHeader().isDup());
            sub.acknowledge(p);
        }
        assertTrue(sub.drainUntilPing().isEmpty());
    }

    @Test
    void allQosV311() throws Exception {
        roundTrip(v311("p"), v311("s"), "q/" + id("t"));
    }

    @Test
    void allQosV5() throws Exception {
        roundTrip(v5("p"), v5("s"), "q/" + id("t"));
    }

    @Test
    void allQosV31() throws Exception {
        roundTrip(v31("p"), v31("s"), "q/" + id("t"));
    }

    @Test
    void deliveryQosIsMinimumOfPublishAndGranted() throws Exception {
        RawClient pub = v5("p");
        RawClient s1 = v5("s1");
        RawClient s0 = v5("s0");
        String topic = "q/" + id("t");
        s1.subscribe(1, topic, 1);
        s0.subscribe(1, topic, 0);
        pub.publish2(topic, "x", 3);
        MqttPublishMessage p1 = s1.expectPublish(topic, "x");
        assertEquals(1, p1.fixedHeader().qosLevel().value());
        s1.acknowledge(p1);
        assertEquals(0, s0.expectPublish(topic, "x").fixedHeader().qosLevel().value());
    }

    @Test
    void v5PubAckSaysNoMatchingSubscribers() throws Exception {
        RawClient pub = v5("p");
        MqttMessage ack = pub.publish1("nobody/" + id("t"), "x", 5);
        assertEquals(0x10, Packets.reasonCode(ack));
        pub.publish("nobody/" + id("t"), 2, 6, "y");
        assertEquals(0x10, Packets.reasonCode(pub.expect(MqttMessageType.PUBREC)));
    }

    @Test
    void realClientsAllQos() throws Exception {
        String topic = "q/" + id("t");
        Mqtt5BlockingClient h = Mqtt5Client.builder().identifier(id("h")).serverHost("127.0.0.1").serverPort(port)
                .buildBlocking();
        h.connect();
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        MqttClient paho = new MqttClient(uri, id("paho"), new MemoryPersistence());
        paho.connect(new MqttConnectionOptions());
        paho.subscribe(topic, 2);
        paho.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
            public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) {
            }

            public void mqttErrorOccurred(org.eclipse.paho.mqttv5.common.MqttException e) {
            }

            public void messageArrived(String t, org.eclipse.paho.mqttv5.common.MqttMessage m) {
                got.add(new String(m.getPayload(), StandardCharsets.UTF_8) + "@" + m.getQos());
            }

            public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken token) {
            }

            public void connectComplete(boolean reconnect, String serverURI) {
            }

            public void authPacketArrived(int reasonCode, org.eclipse.paho.mqttv5.common.packet.MqttProperties p) {
            }
        });
        for (int q = 0; q <= 2; q++) {
            h.publishWith().topic(topic).qos(MqttQos.fromCode(q)).payload(utf8("h" + q)).send();
            assertEquals("h" + q + "@" + q, got.poll(5, TimeUnit.SECONDS));
        }
        // and the other way round
        try (Mqtt5BlockingClient.Mqtt5Publishes publishes = h.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL)) {
            h.subscribeWith().topicFilter(topic + "/back").qos(MqttQos.EXACTLY_ONCE).send();
            for (int q = 0; q <= 2; q++) {
                paho.publish(topic + "/back", utf8("p" + q), q, false);
                Mqtt5Publish m = publishes.receive(5, TimeUnit.SECONDS).orElseThrow();
                assertEquals("p" + q, new String(m.getPayloadAsBytes(), StandardCharsets.UTF_8));
                assertEquals(q, m.getQos().getCode());
            }
        }
        h.disconnect();
        paho.disconnect();
        paho.close();
    }

    // ------------------------------------------------------------------------------------------ exactly once

    @Test
    void resentQos2PublishIsDeliveredOnce() throws Exception {
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            String topic = "eo/" + id(v.name());
            RawClient sub = v5("s" + v.protocolLevel());
            sub.subscribe(1, topic, 2);
            RawClient pub = connect(Packets.connect(v, id("p" + v.protocolLevel()), true, 10, null));
            pub.publish(topic, 2, false, 7, utf8("once"), null);
            assertEquals(7, Packets.packetId(pub.expect(MqttMessageType.PUBREC)));
            // the PUBREC "got lost": the sender retransmits with DUP before PUBREL
            pub.send(Packets.publish(topic, 2, false, true, 7, utf8("once"), null));
            assertEquals(7, Packets.packetId(pub.expect(MqttMessageType.PUBREC)));
            pub.send(Packets.publish(topic, 2, false, true, 7, utf8("once"), null));
            assertEquals(7, Packets.packetId(pub.expect(MqttMessageType.PUBREC)));
            pub.ack(MqttMessageType.PUBREL, 7);
            assertEquals(7, Packets.packetId(pub.expect(MqttMessageType.PUBCOMP)));
            // a PUBREL resent after PUBCOMP is answered again
            pub.ack(MqttMessageType.PUBREL, 7);
            assertEquals(7, Packets.packetId(pub.expect(MqttMessageType.PUBCOMP)));
            // the id is free again: a new message with the same id is a new message
            pub.publish2(topic, "twice", 7);

            MqttPublishMessage first = sub.expectPublish(topic, "once");
            MqttPublishMessage second = sub.expectPublish(topic, "twice");
            sub.acknowledge(first);
            sub.acknowledge(second);
            assertTrue(sub.drainUntilPing().isEmpty(), "duplicate delivered");
        }
    }

    @Test
    void qos2StateSurvivesReconnectOfPersistentSession() throws Exception {
        String topic = "eo/" + id("t");
        RawClient sub = v5("s");
        sub.subscribe(1, topic, 0);
        String cid = id("p");
        RawClient pub = connect(Packets.connect5(cid, true, 300));
        pub.publish(topic, 2, false, 42, utf8("once"), null);
        assertEquals(42, Packets.packetId(pub.expect(MqttMessageType.PUBREC)));
        pub.drop();
        awaitOffline(cid);
        RawClient again = track(RawClient.open(port));
        assertTrue(again.connack(Packets.connect5(cid, false, 300)).variableHeader().isSessionPresent());
        again.send(Packets.publish(topic, 2, false, true, 42, utf8("once"), null));
        assertEquals(42, Packets.packetId(again.expect(MqttMessageType.PUBREC)));
        again.ack(MqttMessageType.PUBREL, 42);
        assertEquals(42, Packets.packetId(again.expect(MqttMessageType.PUBCOMP)));
        sub.expectPublish(topic, "once");
        again.publish1(topic, "marker", 43);
        sub.expectPublish(topic, "marker"); // no second "once" in between
    }

    @Test
    void pipelinedPacketsAfterConnectAreProcessedInOrder() throws Exception {
        String topic = "pipe/" + id("t");
        RawClient c = open();
        byte[] connect = Packets.rawConnect("MQTT", 4, 0x02, 10, null, utf8(id("c")));
        byte[] t = utf8(topic);
        byte[] subscribe = Packets.frame(0x82, Packets.concat(Packets.bytes(0, 1, 0, t.length), t, Packets.bytes(1)));
        byte[] publish = Packets.frame(0x32, Packets.concat(Packets.bytes(0, t.length), t, Packets.bytes(0, 9),
                utf8("piped")));
        c.sendBytes(Packets.concat(connect, subscribe, publish));
        c.expectConnack();
        c.expect(MqttMessageType.SUBACK);
        List<MqttMessage> rest = c.drainUntilPing();
        assertEquals(2, rest.size(), "PUBACK and the message itself: " + rest);
        assertTrue(rest.stream().anyMatch(m -> m.fixedHeader().messageType() == MqttMessageType.PUBACK
                && Packets.packetId(m) == 9));
        assertTrue(rest.stream().anyMatch(m -> m instanceof MqttPublishMessage p && Packets.text(p).equals("piped")));
    }

    @Test
    void resentMessageTooLargeForNewConnectionDoesNotBlockTheWindow() throws Exception {
        String topic = "mps/" + id("t");
        String cid = id("s");
        RawClient sub = connect(Packets.connect5(cid, true, 300));
        sub.subscribe(1, topic, 1);
        RawClient pub = v5("p");
        String big = "x".repeat(300);
        pub.publish1(topic, big, 1);
        sub.expectPublish(topic, big); // not acknowledged
        sub.drop();
        awaitOffline(cid);
        io.netty.handler.codec.mqtt.MqttProperties props = Packets.props(
                MqttPropertyType.SESSION_EXPIRY_INTERVAL, 300, MqttPropertyType.MAXIMUM_PACKET_SIZE, 100,
                MqttPropertyType.RECEIVE_MAXIMUM, 1);
        RawClient small = track(RawClient.open(port));
        small.connack(Packets.connect(MqttVersion.MQTT_5, cid, false, 10, props));
        pub.publish1(topic, "small", 2);
        MqttPublishMessage p = small.expectPublish(topic, "small");
        small.acknowledge(p);
        assertTrue(small.drainUntilPing().isEmpty());
    }

    // ------------------------------------------------------------------------------------------ inflight window

    private List<MqttPublishMessage> publishesIn(List<MqttMessage> packets) {
        List<MqttPublishMessage> out = new ArrayList<>();
        for (MqttMessage m : packets) {
            assertEquals(MqttMessageType.PUBLISH, m.fixedHeader().messageType());
            out.add((MqttPublishMessage) m);
        }
        return out;
    }

    private void inflightWindow(RawClient sub, int window, int qos) throws Exception {
        String topic = "win/" + id("t" + qos);
        sub.subscribe(1, topic, qos);
        RawClient pub = v5("p" + qos);
        int total = window + 6;
        for (int i = 0; i < total; i++) {
            pub.publish1(topic, "m" + i, 100 + i);
        }
        List<MqttPublishMessage> outstanding = publishesIn(receivedBefore(sub, pub));
        assertEquals(window, outstanding.size(), "unacknowledged publishes outstanding");
        int next = 0;
        for (MqttPublishMessage p : outstanding) {
            assertEquals("m" + next++, Packets.text(p));
        }
        // each acknowledgement opens the window by exactly one
        while (next < total) {
            MqttPublishMessage oldest = outstanding.remove(0);
            if (qos == 1) {
                sub.ack(MqttMessageType.PUBACK, oldest.variableHeader().packetId());
            } else {
                sub.acknowledge(oldest); // PUBREC, PUBREL, PUBCOMP: still inflight until PUBCOMP
            }
            List<MqttPublishMessage> more = publishesIn(sub.drainUntilPing());
            assertEquals(1, more.size());
            assertEquals("m" + next++, Packets.text(more.get(0)));
            outstanding.addAll(more);
        }
        for (MqttPublishMessage p : outstanding) {
            sub.acknowledge(p);
        }
        assertTrue(sub.drainUntilPing().isEmpty());
    }

    @Test
    void receiveMaximumLimitsOutstandingQos1() throws Exception {
        RawClient sub = connect(Packets.connect(MqttVersion.MQTT_5, id("s"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 3)));
        inflightWindow(sub, 3, 1);
    }

    @Test
    void receiveMaximumLimitsOutstandingQos2() throws Exception {
        RawClient sub = connect(Packets.connect(MqttVersion.MQTT_5, id("s"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 2)));
        inflightWindow(sub, 2, 2);
    }

    @Test
    void maxInflightLimitsV311() throws Exception {
        inflightWindow(v311("s"), 5, 1);
    }

    @Test
    void maxInflightCapsLargeReceiveMaximum() throws Exception {
        RawClient sub = connect(Packets.connect(MqttVersion.MQTT_5, id("s"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 100)));
        inflightWindow(sub, 5, 1);
    }

    // ------------------------------------------------------------------------------------------ retransmission

    private void retransmission(MqttVersion v) throws Exception {
        String topic = "re/" + id(v.name());
        String cid = id("s" + v.protocolLevel());
        RawClient sub = connect(v == MqttVersion.MQTT_5 ? Packets.connect5(cid, true, 300)
                : Packets.connect(v, cid, false, 10, null));
        sub.subscribe(1, topic, 2);
        RawClient pub = v5("p" + v.protocolLevel());
        pub.publish1(topic, "one", 1);
        pub.publish2(topic, "two", 2);
        pub.publish2(topic, "three", 3);
        MqttPublishMessage one = sub.expectPublish(topic, "one");
        MqttPublishMessage two = sub.expectPublish(topic, "two");
        MqttPublishMessage three = sub.expectPublish(topic, "three");
        // "three" reaches PUBREC before the connection breaks
        sub.ack(MqttMessageType.PUBREC, three.variableHeader().packetId());
        assertEquals(three.variableHeader().packetId(), Packets.packetId(sub.expect(MqttMessageType.PUBREL)));
        sub.drop();

        RawClient again = connect(v == MqttVersion.MQTT_5 ? Packets.connect5(cid, false, 300)
                : Packets.connect(v, cid, false, 10, null));
        MqttPublishMessage r1 = again.expectPublish(topic, "one");
        assertTrue(r1.fixedHeader().isDup());
        assertEquals(one.variableHeader().packetId(), r1.variableHeader().packetId());
        assertEquals(1, r1.fixedHeader().qosLevel().value());
        MqttPublishMessage r2 = again.expectPublish(topic, "two");
        assertTrue(r2.fixedHeader().isDup());
        assertEquals(two.variableHeader().packetId(), r2.variableHeader().packetId());
        MqttMessage rel = again.expect(MqttMessageType.PUBREL);
        assertEquals(three.variableHeader().packetId(), Packets.packetId(rel));
        again.ack(MqttMessageType.PUBACK, r1.variableHeader().packetId());
        again.acknowledge(r2);
        again.ack(MqttMessageType.PUBCOMP, three.variableHeader().packetId());
        assertTrue(receivedBefore(again, pub).isEmpty());
        again.disconnect();
        awaitOffline(cid);
        // everything acknowledged: nothing is resent when the session is resumed again (resent messages would come
        // before the next new one)
        RawClient third = track(RawClient.open(port));
        assertTrue(third.connack(v == MqttVersion.MQTT_5 ? Packets.connect5(cid, false, 0)
                : Packets.connect(v, cid, false, 10, null)).variableHeader().isSessionPresent(), "session resumed");
        pub.publish1(topic, "four", 4);
        MqttPublishMessage four = third.expectPublish(topic, "four");
        assertFalse(four.fixedHeader().isDup());
        third.acknowledge(four);
        assertTrue(receivedBefore(third, pub).isEmpty(), "something was resent");
        third.disconnect();
    }

    @Test
    void resendOnReconnectRespectsTheNewReceiveMaximum() throws Exception {
        String topic = "rm/" + id("t");
        String cid = id("s");
        RawClient sub = connect(Packets.connect(MqttVersion.MQTT_5, cid, true, 10, Packets.props(
                MqttPropertyType.SESSION_EXPIRY_INTERVAL, 300, MqttPropertyType.RECEIVE_MAXIMUM, 5)));
        sub.subscribe(1, topic, 2);
        RawClient pub = v5("p");
        for (int i = 0; i < 5; i++) {
            if (i % 2 == 0) {
                pub.publish1(topic, "m" + i, 1 + i);
            } else {
                pub.publish2(topic, "m" + i, 1 + i);
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(sub.expectPublish(topic, "m" + i).variableHeader().packetId());
        }
        sub.drop();
        awaitOffline(cid);
        pub.publish1(topic, "m5", 10);

        RawClient again = track(RawClient.open(port));
        again.connack(Packets.connect(MqttVersion.MQTT_5, cid, false, 10, Packets.props(
                MqttPropertyType.SESSION_EXPIRY_INTERVAL, 300, MqttPropertyType.RECEIVE_MAXIMUM, 2)));
        List<MqttPublishMessage> out = publishesIn(receivedBefore(again, pub));
        assertEquals(2, out.size(), "resent more than the new Receive Maximum");
        for (int i = 0; i < 6; i++) {
            MqttPublishMessage p = out.remove(0);
            assertEquals("m" + i, Packets.text(p));
            if (i < 5) {
                assertTrue(p.fixedHeader().isDup(), "m" + i + " resent with DUP");
                assertEquals(ids.get(i), p.variableHeader().packetId(), "same packet id when resent");
            }
            again.acknowledge(p);
            out.addAll(publishesIn(receivedBefore(again, pub)));
            assertTrue(out.size() <= 2, "more than Receive Maximum outstanding: " + out.size());
        }
        assertTrue(out.isEmpty());
    }

    @Test
    void takeoverResendsUnacknowledgedWithDup() throws Exception {
        String topic = "tk/" + id("t");
        String cid = id("s");
        RawClient old = connect(Packets.connect5(cid, true, 300));
        old.subscribe(1, topic, 1);
        RawClient pub = v5("p");
        pub.publish1(topic, "unacked", 1);
        int pid = old.expectPublish(topic, "unacked").variableHeader().packetId();
        RawClient neu = track(RawClient.open(port));
        assertTrue(neu.connack(Packets.connect5(cid, false, 300)).variableHeader().isSessionPresent());
        assertEquals(0x8E, old.expectDisconnect());
        MqttPublishMessage again = neu.expectPublish(topic, "unacked");
        assertTrue(again.fixedHeader().isDup());
        assertEquals(pid, again.variableHeader().packetId());
        neu.acknowledge(again);
        pub.publish1(topic, "next", 2);
        neu.acknowledge(neu.expectPublish(topic, "next"));
    }

    @Test
    void unacknowledgedAreResentWithDupV311() throws Exception {
        retransmission(MqttVersion.MQTT_3_1_1);
    }

    @Test
    void unacknowledgedAreResentWithDupV5() throws Exception {
        retransmission(MqttVersion.MQTT_5);
    }
}
