package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.SessionInfo;
import io.brokkr.broker.Await;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/** Clean start / clean session, session expiry, offline queueing and its bound, message expiry in the queue. */
class SessionTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.queued.messages", "5");
        m.put("session.expiry.max", "600");
        return m;
    }

    private RawClient persistent(MqttVersion v, String cid, boolean clean, long expiry, boolean expectPresent)
            throws Exception {
        RawClient c = open();
        var ack = c.connack(v == MqttVersion.MQTT_5 ? Packets.connect5(cid, clean, expiry)
                : Packets.connect(v, cid, clean, 10, null));
        assertEquals(0, RawClient.returnCode(ack));
        assertEquals(expectPresent, ack.variableHeader().isSessionPresent(), "session present");
        return c;
    }

    /** An MQTT 5 session (expiry 300 s) subscribed to {@code topic} at QoS 1, whose client has disconnected. */
    private void offlineSubscriber(String cid, String topic) throws Exception {
        RawClient s = persistent(MqttVersion.MQTT_5, cid, true, 300, false);
        s.subscribe(1, topic, 1);
        s.disconnect();
        awaitOffline(cid);
    }

    private void offlineQueue(MqttVersion v) throws Exception {
        String cid = id("s" + v.protocolLevel());
        String topic = "off/" + cid;
        RawClient s = persistent(v, cid, true, 300, false);
        if (v != MqttVersion.MQTT_5) {
            s.disconnect();
            s = persistent(v, cid, false, 0, false);
        }
        s.subscribe(1, topic, 1);
        s.disconnect();
        awaitOffline(cid);

        RawClient pub = v5("p" + v.protocolLevel());
        pub.publish(topic, 0, 0, "qos0-dropped");
        for (int i = 0; i < 3; i++) {
            pub.publish1(topic, "m" + i, 10 + i);
        }
        RawClient back = persistent(v, cid, false, 300, true);
        for (int i = 0; i < 3; i++) {
            MqttPublishMessage p = back.expectPublish(topic, "m" + i);
            assertEquals(1, p.fixedHeader().qosLevel().value());
            back.acknowledge(p);
        }
        assertTrue(receivedBefore(back, pub).isEmpty(), "QoS 0 is not queued for offline clients (queue.qos0=false)");
        // the subscription survived: live messages keep coming
        pub.publish1(topic, "live", 20);
        back.acknowledge(back.expectPublish(topic, "live"));
    }

    @Test
    void offlineQueueV311() throws Exception {
        offlineQueue(MqttVersion.MQTT_3_1_1);
    }

    @Test
    void offlineQueueV5() throws Exception {
        offlineQueue(MqttVersion.MQTT_5);
    }

    @Test
    void offlineQueueIsBounded() throws Exception {
        String cid = id("s");
        String topic = "bound/" + cid;
        offlineSubscriber(cid, topic);
        RawClient pub = v5("p");
        for (int i = 0; i < 9; i++) {
            pub.publish1(topic, "m" + i, 10 + i);
        }
        RawClient back = persistent(MqttVersion.MQTT_5, cid, false, 300, true);
        List<MqttMessage> got = receivedBefore(back, pub);
        assertEquals(5, got.size(), "max.queued.messages=5");
        for (int i = 0; i < 5; i++) {
            assertEquals("m" + i, Packets.text((MqttPublishMessage) got.get(i)));
        }
    }

    @Test
    void cleanSessionV311DiscardsSubscriptions() throws Exception {
        String cid = id("s");
        String topic = "clean/" + cid;
        RawClient s = persistent(MqttVersion.MQTT_3_1_1, cid, true, 0, false);
        s.subscribe(1, topic, 1);
        s.disconnect();
        awaitSessionGone(cid, 2_000);
        RawClient pub = v5("p");
        pub.publish1(topic, "x", 1);
        RawClient back = persistent(MqttVersion.MQTT_3_1_1, cid, false, 0, false);
        pub.publish1(topic, "y", 2);
        assertTrue(receivedBefore(back, pub).isEmpty(), "subscription of a clean session survived");
    }

    @Test
    void takeoverDoesNotResumeASessionThatEndsWithItsConnection() throws Exception {
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            String cid = id("s" + v.protocolLevel());
            String topic = "tk/" + cid;
            RawClient a = persistent(v, cid, true, 0, false);
            a.subscribe(1, topic, 1);
            RawClient b = persistent(v, cid, false, 300, false); // takes over: the old session is not resumed
            if (v == MqttVersion.MQTT_5) {
                assertEquals(0x8E, a.expectDisconnect());
            } else {
                a.assertClosedWithoutPackets();
            }
            RawClient pub = v5("p" + v.protocolLevel());
            pub.publish1(topic, "x", 1);
            assertTrue(receivedBefore(b, pub).isEmpty(), "subscription of the ended session survived");
        }
    }

    @Test
    void cleanStartV5DiscardsExistingSession() throws Exception {
        String cid = id("s");
        String topic = "clean/" + cid;
        offlineSubscriber(cid, topic);
        RawClient pub = v5("p");
        pub.publish1(topic, "queued", 1);
        RawClient back = persistent(MqttVersion.MQTT_5, cid, true, 300, false);
        pub.publish1(topic, "after", 2);
        assertTrue(receivedBefore(back, pub).isEmpty(), "clean start kept queue or subscriptions");
    }

    @Test
    void sessionExpiresAfterInterval() throws Exception {
        String cid = id("s");
        String topic = "exp/" + cid;
        RawClient s = persistent(MqttVersion.MQTT_5, cid, true, 1, false);
        s.subscribe(1, topic, 1);
        s.drop();
        awaitOffline(cid);
        long offline = System.nanoTime(); // the expiry timer started before this
        assertTrue(hasSession(cid), "session ended at once despite an expiry of 1 s");
        RawClient pub = v5("p");
        pub.publish1(topic, "queued", 1);
        awaitSessionGone(cid, 4_000);
        long lived = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - offline);
        assertTrue(lived >= 900, "session of expiry 1 s ended after " + lived + " ms");
        RawClient back = persistent(MqttVersion.MQTT_5, cid, false, 60, false);
        assertTrue(receivedBefore(back, pub).isEmpty(), "queue of an expired session delivered");
        pub.publish1(topic, "after", 2);
        assertTrue(receivedBefore(back, pub).isEmpty(), "subscription of an expired session survived");
    }

    @Test
    void sessionsShowTheOfflineQueueAsSoonAsThePublisherHasItsPuback() throws Exception {
        // BrokerService.sessions() (mqtt:sessions) reads each session on its own loop when asked, not a snapshot that
        // was refreshed 200 ms after a change; a PUBACK goes out once the subscriber's session has the message queued
        String cid = id("s");
        String topic = "snap/" + cid;
        offlineSubscriber(cid, topic);
        RawClient pub = v5("p");
        for (int i = 1; i <= 3; i++) {
            pub.publish1(topic, "m" + i, 10 + i);
            SessionInfo info = broker.sessions().stream().filter(x -> x.clientId().equals(cid)).findFirst()
                    .orElseThrow();
            assertEquals(i, info.queued(), "messages queued when the publisher had PUBACK " + i);
            assertEquals(1, info.subscriptions());
            assertFalse(info.connected());
        }
    }

    @Test
    void sessionExpiryIsCappedAndTheCapAnnounced() throws Exception {
        RawClient c = open();
        var ack = c.connack(Packets.connect5(id("s"), true, 3600));
        assertEquals(600, Packets.intProp(ack.variableHeader().properties(),
                MqttPropertyType.SESSION_EXPIRY_INTERVAL));
        RawClient d = open();
        var ack2 = d.connack(Packets.connect5(id("t"), true, 60));
        assertEquals(null, Packets.intProp(ack2.variableHeader().properties(),
                MqttPropertyType.SESSION_EXPIRY_INTERVAL), "not sent when the client's value is used");
        assertEquals(600, broker.sessions().stream().filter(i -> i.clientId().equals(id("s"))).findFirst()
                .orElseThrow().expiryInterval());
    }

    @Test
    void sessionExpiryZeroEndsAtDisconnect() throws Exception {
        String cid = id("s");
        RawClient s = persistent(MqttVersion.MQTT_5, cid, false, 0, false);
        s.subscribe(1, "x/" + cid, 1);
        s.disconnect();
        awaitSessionGone(cid, 2_000);
        persistent(MqttVersion.MQTT_5, cid, false, 0, false);
    }

    @Test
    void disconnectCanShortenSessionExpiry() throws Exception {
        String cid = id("s");
        RawClient s = persistent(MqttVersion.MQTT_5, cid, true, 300, false);
        s.disconnect(0, Packets.props(MqttPropertyType.SESSION_EXPIRY_INTERVAL, 0));
        awaitSessionGone(cid, 2_000);
    }

    @Test
    void disconnectCannotSetExpiryAfterZero() throws Exception {
        String cid = id("s");
        RawClient s = persistent(MqttVersion.MQTT_5, cid, true, 0, false);
        s.send(new MqttMessage(new io.netty.handler.codec.mqtt.MqttFixedHeader(MqttMessageType.DISCONNECT, false,
                io.netty.handler.codec.mqtt.MqttQoS.AT_MOST_ONCE, false, 0),
                new io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader((byte) 0,
                        Packets.props(MqttPropertyType.SESSION_EXPIRY_INTERVAL, 60))));
        assertEquals(0x82, s.expectDisconnect());
    }

    @Test
    void persistentSessionSurvivesReconnectWithPaho() throws Exception {
        String cid = id("paho");
        String topic = "paho/" + cid;
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(false);
        o.setKeepAliveInterval(10);
        MqttClient c = new MqttClient(uri, cid, new MemoryPersistence());
        c.connect(o);
        c.subscribe(topic, 1);
        c.disconnect();
        RawClient pub = v5("p");
        pub.publish1(topic, "while-away", 1);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(5);
        c.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            public void connectionLost(Throwable cause) {
            }

            public void messageArrived(String t, org.eclipse.paho.client.mqttv3.MqttMessage m) {
                got.add(new String(m.getPayload(), StandardCharsets.UTF_8));
            }

            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });
        c.connect(o);
        assertEquals("while-away", got.poll(5, TimeUnit.SECONDS));
        c.disconnect();
        o.setCleanSession(true);
        c.connect(o);
        c.disconnect();
        c.close();
    }

    // ------------------------------------------------------------------------------------------ message expiry

    @Test
    void expiredMessagesAreNotDeliveredFromTheQueue() throws Exception {
        String cid = id("s");
        String topic = "mexp/" + cid;
        offlineSubscriber(cid, topic);
        RawClient pub = v5("p");
        pub.publish(topic, 1, false, 1, utf8("short"), Packets.props(MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL, 1));
        pub.expect(MqttMessageType.PUBACK);
        long longSent = System.nanoTime();
        pub.publish(topic, 1, false, 2, utf8("long"), Packets.props(MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL, 100));
        pub.expect(MqttMessageType.PUBACK);
        pub.publish1(topic, "none", 3);
        // an online client whose window is full: the short-lived message waits in its queue and expires there
        RawClient busy = connect(io.netty.handler.codec.mqtt.MqttMessageBuilders.connect()
                .protocolVersion(MqttVersion.MQTT_5).clientId(id("busy")).keepAlive(10).cleanSession(true)
                .properties(Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 1)).build());
        busy.subscribe(1, topic + "/busy", 1);
        pub.publish1(topic + "/busy", "first", 5);
        MqttPublishMessage held = busy.expectPublish(topic + "/busy", "first");
        pub.publish(topic + "/busy", 1, false, 6, utf8("expires"),
                Packets.props(MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL, 1));
        pub.expect(MqttMessageType.PUBACK);
        pub.publish1(topic + "/busy", "stays", 7);
        pub.publish(topic + "/r", 1, true, 4, utf8("retained-short"),
                Packets.props(MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL, 1));
        pub.expect(MqttMessageType.PUBACK);
        // wait until the last of the 1 s messages has expired by the broker's own rule (the others are older)
        Await.until("retained-short expired", 5_000, () -> broker.retained(topic + "/r").stream()
                .allMatch(m -> m.isExpired(System.currentTimeMillis())));
        busy.acknowledge(held);
        busy.acknowledge(busy.expectPublish(topic + "/busy", "stays"));
        RawClient late = v5("late");
        late.subscribe(1, topic + "/r", 1);
        assertTrue(receivedBefore(late, pub).isEmpty(), "expired retained message delivered");
        RawClient back = persistent(MqttVersion.MQTT_5, cid, false, 300, true);
        MqttPublishMessage first = back.expectPublish(topic, "long");
        Integer remaining = Packets.intProp(first.variableHeader().properties(),
                MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL);
        assertNotNull(remaining);
        // queued at least 1 s (the 1 s messages published after it have expired), at most "queued" seconds: the
        // remaining interval, rounded up, is 100 minus the whole seconds it waited [MQTT-3.3.2-6]
        long queued = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - longSent);
        assertTrue(remaining <= 99 && remaining >= 100 - queued, "remaining expiry decremented by the time queued ("
                + queued + " s at most): " + remaining);
        MqttPublishMessage second = back.expectPublish(topic, "none");
        assertEquals(null, Packets.intProp(second.variableHeader().properties(),
                MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL));
        back.acknowledge(first);
        back.acknowledge(second);
        assertFalse(receivedBefore(back, pub).stream().anyMatch(m -> m instanceof MqttPublishMessage));
    }
}
