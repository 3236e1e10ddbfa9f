package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/** Will messages: abnormal close, normal DISCONNECT, DISCONNECT 0x04, will delay, will retain, takeover. */
class WillTest extends BrokerTestBase {

    private MqttConnectMessage withWill(MqttVersion v, String clientId, String willTopic, boolean retain,
                                        long willDelay, long sessionExpiry) {
        MqttMessageBuilders.ConnectBuilder b = MqttMessageBuilders.connect().protocolVersion(v).clientId(clientId)
                .cleanSession(sessionExpiry == 0).keepAlive(10).willFlag(true).willTopic(willTopic)
                .willMessage(utf8("gone:" + clientId)).willQoS(MqttQoS.AT_LEAST_ONCE).willRetain(retain);
        if (v == MqttVersion.MQTT_5) {
            MqttProperties wp = new MqttProperties();
            if (willDelay > 0) {
                wp.add(new MqttProperties.IntegerProperty(MqttPropertyType.WILL_DELAY_INTERVAL.value(),
                        (int) willDelay));
            }
            wp.add(new MqttProperties.StringProperty(MqttPropertyType.CONTENT_TYPE.value(), "text/plain"));
            b.willProperties(wp);
            if (sessionExpiry > 0) {
                b.properties(Packets.props(MqttPropertyType.SESSION_EXPIRY_INTERVAL, (int) sessionExpiry));
            }
        }
        return b.build();
    }

    private RawClient watcher(String topic) throws Exception {
        RawClient w = v5("watch");
        w.subscribe(1, topic, 1);
        return w;
    }

    /**
     * A control client with a will delay of 1 s connects and drops now; waits for its will, which must be the first
     * thing {@code w} receives. A will with the same delay that the test expects NOT to be sent (its timer, had it
     * been started, started earlier) would have been due first: after this, {@link #fence} shows whether it came.
     */
    private void awaitControlWill(RawClient w, String topic) throws Exception {
        String ctl = id("ctl");
        RawClient k = connect(withWill(MqttVersion.MQTT_5, ctl, topic, false, 1, 60));
        k.drop();
        w.acknowledge(w.expectPublish(topic, "gone:" + ctl));
    }

    @Test
    void willOnAbnormalClose() throws Exception {
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1, MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            String topic = "will/" + id(v.name());
            RawClient w = track(RawClient.v5(port, id("w" + v.protocolLevel())));
            w.subscribe(1, topic, 1);
            String cid = id("c" + v.protocolLevel());
            RawClient c = connect(withWill(v, cid, topic, false, 0, 0));
            c.drop();
            MqttPublishMessage will = w.expectPublish(topic, "gone:" + cid);
            assertEquals(1, will.fixedHeader().qosLevel().value());
            assertFalse(will.fixedHeader().isRetain());
            if (v == MqttVersion.MQTT_5) {
                assertEquals("text/plain", Packets.stringProp(will.variableHeader().properties(),
                        MqttPropertyType.CONTENT_TYPE), "will properties are passed on");
            }
            w.acknowledge(will);
        }
    }

    @Test
    void noWillOnNormalDisconnect() throws Exception {
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            String topic = "will/" + id(v.name());
            RawClient w = track(RawClient.v5(port, id("w" + v.protocolLevel())));
            w.subscribe(1, topic, 1);
            String cid = id("c" + v.protocolLevel());
            RawClient c = connect(withWill(v, cid, topic, false, 0, 0));
            c.disconnect();
            awaitOffline(cid);
            assertTrue(fence(w).isEmpty(), "will sent after a normal DISCONNECT");
        }
    }

    @Test
    void disconnectWithWillMessageSendsWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_5, cid, topic, false, 0, 0));
        c.disconnect(0x04, null);
        w.expectPublish(topic, "gone:" + cid);
    }

    @Test
    void keepAliveTimeoutSendsWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        MqttConnectMessage m = MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId(cid)
                .cleanSession(true).keepAlive(1).willFlag(true).willTopic(topic).willMessage(utf8("timeout"))
                .willQoS(MqttQoS.AT_MOST_ONCE).build();
        RawClient c = connect(m);
        long connected = System.nanoTime(); // the keep alive timer started before this
        w.expectPublish(topic, "timeout");
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connected);
        // one and a half keep alives [MQTT-3.1.2-24]; less would mean the broker closed a client still in time
        assertTrue(waited >= 1_400, "will after " + waited + " ms, before 1.5 x keep alive 1 s");
        assertTrue(c.awaitClosed());
    }

    @Test
    void willDelayDelaysTheWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_5, cid, topic, false, 2, 60));
        c.drop();
        awaitOffline(cid);
        long offline = System.nanoTime(); // the will delay started before this
        assertTrue(fence(w).isEmpty(), "will sent at once despite a will delay of 2 s");
        w.expectPublish(topic, "gone:" + cid);
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - offline);
        assertTrue(waited >= 1_900, "will delay of 2 s, will sent after " + waited + " ms");
    }

    @Test
    void reconnectWithinWillDelayCancelsTheWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_5, cid, topic, false, 1, 60));
        c.drop();
        awaitOffline(cid);
        RawClient back = track(RawClient.open(port));
        assertTrue(back.connack(Packets.connect5(cid, false, 60)).variableHeader().isSessionPresent());
        awaitControlWill(w, topic);
        assertTrue(fence(w).isEmpty(), "will sent although the client came back in time");
        back.disconnect();
    }

    @Test
    void takeoverWithinWillDelayDoesNotSendTheWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient first = connect(withWill(MqttVersion.MQTT_5, cid, topic, false, 1, 300));
        RawClient second = track(RawClient.open(port));
        assertTrue(second.connack(Packets.connect5(cid, false, 300)).variableHeader().isSessionPresent());
        assertEquals(0x8E, first.expectDisconnect());
        awaitControlWill(w, topic);
        assertTrue(fence(w).isEmpty(), "will of the taken over connection sent");
        second.disconnect();
    }

    @Test
    void willDelayLongerThanSessionExpirySendsAtExpiry() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_5, cid, topic, false, 3600, 1));
        c.drop();
        awaitOffline(cid);
        long offline = System.nanoTime(); // the session expiry started before this
        assertTrue(fence(w).isEmpty(), "will sent at once despite a will delay and a session expiry");
        w.expectPublish(topic, "gone:" + cid);
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - offline);
        assertTrue(waited >= 900, "will at the session's expiry (1 s), sent after " + waited + " ms");
        awaitSessionGone(cid, 3_000);
    }

    @Test
    void willRetain() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_3_1_1, cid, topic, true, 0, 0));
        c.drop();
        MqttPublishMessage live = w.expectPublish(topic, "gone:" + cid); // the will is published (and stored)
        assertFalse(live.fixedHeader().isRetain(), "RETAIN 0 to an existing subscription");
        RawClient later = v311("later");
        later.subscribe(1, topic, 1);
        MqttPublishMessage p = later.expectPublish(topic, "gone:" + cid);
        assertTrue(p.fixedHeader().isRetain());
        later.acknowledge(p);
    }

    @Test
    void takeoverPublishesTheOldWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient first = connect(withWill(MqttVersion.MQTT_3_1_1, cid, topic, false, 0, 0));
        RawClient second = v311("c");
        w.expectPublish(topic, "gone:" + cid);
        first.assertClosedWithoutPackets();
        assertTrue(second.isOpen());
    }

    @Test
    void pahoWill() throws Exception {
        String topic = "will/" + id("t");
        RawClient w = watcher(topic);
        MqttClient p = new MqttClient(uri, id("paho"), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setKeepAliveInterval(10);
        o.setWill(topic, utf8("paho-will"), 1, false);
        p.connect(o);
        p.disconnectForcibly(0, 0, false); // closes the socket without DISCONNECT
        w.expectPublish(topic, "paho-will");
        p.close();
    }
}
