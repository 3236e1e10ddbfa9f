package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.api.intercept.MessageInterceptor;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A will is a PUBLISH the broker makes later on the client's behalf, so the {@link Authorizer} decides on it at
 * CONNECT, for the client that sets it: a will its client may not publish refuses the CONNECT (0x87 in MQTT 5,
 * return code 5 in 3.1.1 and 3.1). An allowed will reaches the {@link MessageInterceptor}s as a message of that
 * client, whichever way it is published: at once, after the will delay, when the session ends, on takeover.
 */
class WillAuthorizationTest extends BrokerTestBase {

    /** What the authorizer was asked about publishing to a will topic: "user topic qos retain". */
    private final List<String> asked = Collections.synchronizedList(new ArrayList<>());
    /** Messages on will topics the interceptor saw, with the publishing client (null: none given). */
    private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());

    private record Seen(ConnectionContext client, String topic, String payload) {
    }

    @BeforeAll
    void extensions() {
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext client, String topic, int qos, boolean retain) {
                if (!topic.startsWith("alarm/")) {
                    return Decision.NEXT;
                }
                asked.add(client.username() + " " + topic + " " + qos + " " + retain);
                return "mallory".equals(client.username()) ? Decision.DENY : Decision.ALLOW;
            }
        }));
        broker.setInterceptors(List.of(new MessageInterceptor() {
            @Override
            public Message onMessageReceived(ConnectionContext client, Message message) {
                if (message.topic().startsWith("alarm/")) {
                    seen.add(new Seen(client, message.topic(), new String(message.payload())));
                }
                return message;
            }
        }));
    }

    private MqttConnectMessage withWill(MqttVersion v, String clientId, String user, String willTopic,
                                        boolean retain, long willDelay, long sessionExpiry) {
        MqttMessageBuilders.ConnectBuilder b = MqttMessageBuilders.connect().protocolVersion(v).clientId(clientId)
                .cleanSession(sessionExpiry == 0).keepAlive(10).hasUser(true).username(user).willFlag(true)
                .willTopic(willTopic).willMessage(utf8("gone:" + clientId)).willQoS(MqttQoS.AT_LEAST_ONCE)
                .willRetain(retain);
        if (v == MqttVersion.MQTT_5) {
            MqttProperties wp = new MqttProperties();
            if (willDelay > 0) {
                wp.add(new MqttProperties.IntegerProperty(MqttPropertyType.WILL_DELAY_INTERVAL.value(),
                        (int) willDelay));
            }
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

    /** The interceptor's record of the will on {@code topic}; the watcher has received it, so it is there. */
    private Seen seenOn(String topic) {
        synchronized (seen) {
            List<Seen> on = seen.stream().filter(s -> s.topic().equals(topic)).toList();
            assertEquals(1, on.size(), "interceptor calls for " + topic + ": " + on);
            return on.get(0);
        }
    }

    private void assertWillOf(String topic, String clientId, String user) {
        Seen s = seenOn(topic);
        assertEquals("gone:" + clientId, s.payload());
        assertNotNull(s.client(), "the interceptor gets the client that set the will");
        assertEquals(clientId, s.client().clientId());
        assertEquals(user, s.client().username());
    }

    @Test
    void willTheClientMayNotPublishRefusesTheConnect() throws Exception {
        String topic = "alarm/" + id("t");
        RawClient w = watcher(topic);
        RawClient pub = v5("p");
        int[][] versionAndCode = {{5, 0x87}, {4, 5}, {3, 5}};
        for (int[] vc : versionAndCode) {
            MqttVersion v = vc[0] == 5 ? MqttVersion.MQTT_5 : vc[0] == 4 ? MqttVersion.MQTT_3_1_1
                    : MqttVersion.MQTT_3_1;
            String cid = id("m" + vc[0]);
            RawClient c = open();
            int rc = c.connack(withWill(v, cid, "mallory", topic, true, 0, 0)).variableHeader().connectReturnCode()
                    .byteValue() & 0xFF;
            assertEquals(vc[1], rc, v + ": CONNACK for a will its client may not publish");
            assertTrue(c.awaitClosed(), v + ": refused connection closed");
            assertTrue(broker.sessions().stream().noneMatch(s -> s.clientId().equals(cid)), "no session kept");
        }
        String question = "mallory " + topic + " 1 true";
        assertEquals(List.of(question, question, question),
                asked.stream().filter(a -> a.contains(topic)).toList(),
                "the authorizer decides on the will (its QoS and retain) as a message of its client");
        List<MqttMessage> got = receivedBefore(w, pub);
        assertTrue(got.isEmpty(), "nothing was published: " + got);
        assertTrue(seen.stream().noneMatch(s -> s.topic().equals(topic)), "no interceptor call for it");

        // the same will is fine for a client allowed to publish there
        String cid = id("a");
        RawClient ok = connect(withWill(MqttVersion.MQTT_5, cid, "alice", topic, false, 0, 0));
        ok.drop();
        w.acknowledge(w.expectPublish(topic, "gone:" + cid));
        assertWillOf(topic, cid, "alice");
    }

    @Test
    void interceptorSeesTheClientOfAnImmediateWill() throws Exception {
        for (MqttVersion v : new MqttVersion[] {MqttVersion.MQTT_3_1, MqttVersion.MQTT_3_1_1, MqttVersion.MQTT_5}) {
            String topic = "alarm/" + id(v.name());
            RawClient w = track(RawClient.v5(port, id("w" + v.protocolLevel())));
            w.subscribe(1, topic, 1);
            String cid = id("c" + v.protocolLevel());
            RawClient c = connect(withWill(v, cid, "alice", topic, false, 0, 0));
            c.drop();
            w.acknowledge(w.expectPublish(topic, "gone:" + cid));
            assertWillOf(topic, cid, "alice");
        }
    }

    @Test
    void interceptorSeesTheClientOfADelayedWill() throws Exception {
        String topic = "alarm/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_5, cid, "alice", topic, false, 1, 60));
        c.drop();
        awaitOffline(cid);
        MqttPublishMessage will = w.expectPublish(topic, "gone:" + cid); // after the 1 s will delay
        w.acknowledge(will);
        assertWillOf(topic, cid, "alice");
    }

    @Test
    void interceptorSeesTheClientOfAWillPublishedWhenTheSessionEnds() throws Exception {
        String topic = "alarm/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient c = connect(withWill(MqttVersion.MQTT_5, cid, "alice", topic, false, 3600, 3600));
        c.drop();
        awaitOffline(cid);
        assertTrue(broker.kick(cid, true), "session removed"); // a pending will is published now [MQTT-3.1.3-9]
        w.acknowledge(w.expectPublish(topic, "gone:" + cid));
        assertWillOf(topic, cid, "alice");
    }

    @Test
    void interceptorSeesTheClientOfAWillPublishedOnTakeover() throws Exception {
        String topic = "alarm/" + id("t");
        RawClient w = watcher(topic);
        String cid = id("c");
        RawClient first = connect(withWill(MqttVersion.MQTT_3_1_1, cid, "alice", topic, false, 0, 0));
        RawClient second = connect(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1)
                .clientId(cid).cleanSession(true).keepAlive(10).hasUser(true).username("bob").build());
        w.acknowledge(w.expectPublish(topic, "gone:" + cid));
        first.assertClosedWithoutPackets();
        assertTrue(second.isOpen());
        assertWillOf(topic, cid, "alice"); // the client that set the will, not the one that took over
    }
}
