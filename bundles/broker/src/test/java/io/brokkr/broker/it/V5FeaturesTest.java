package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PayloadFormatIndicator;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
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
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.Test;

/** MQTT 5: topic aliases both ways, publication properties, payload format, maximum packet size both ways. */
class V5FeaturesTest extends BrokerTestBase {

    static final int MAX_PACKET = 1024;

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("topic.alias.maximum", "3");
        m.put("max.packet.size", String.valueOf(MAX_PACKET));
        return m;
    }

    private RawClient v5With(String suffix, Object... props) throws Exception {
        return connect(Packets.connect(MqttVersion.MQTT_5, id(suffix), true, 10, Packets.props(props)));
    }

    @Test
    void connackAnnouncesLimits() throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_5, id("c"), true, 10, null));
        MqttProperties p = ack.variableHeader().properties();
        assertEquals(3, Packets.intProp(p, MqttPropertyType.TOPIC_ALIAS_MAXIMUM));
        assertEquals(MAX_PACKET, Packets.intProp(p, MqttPropertyType.MAXIMUM_PACKET_SIZE));
    }

    // ------------------------------------------------------------------------------------------ topic alias in

    @Test
    void inboundTopicAliases() throws Exception {
        String t1 = "al/" + id("a");
        String t2 = "al/" + id("b");
        RawClient sub = v5("s");
        sub.subscribe(1, "al/#", 0);
        RawClient pub = v5("p");
        pub.publish(t1, 0, false, 0, utf8("1"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 1));
        pub.publish("", 0, false, 0, utf8("2"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 1));
        pub.publish(t2, 0, false, 0, utf8("3"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 1)); // re-map
        pub.publish("", 1, false, 5, utf8("4"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 1));
        assertEquals(5, Packets.packetId(pub.expect(MqttMessageType.PUBACK)));
        sub.expectPublish(t1, "1");
        sub.expectPublish(t1, "2");
        sub.expectPublish(t2, "3");
        sub.expectPublish(t2, "4");
    }

    @Test
    void inboundAliasAboveMaximumIsRefused() throws Exception {
        RawClient pub = v5("p");
        pub.publish("al/x", 0, false, 0, utf8("x"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 4));
        assertEquals(0x94, pub.expectDisconnect());
        RawClient zero = v5("z");
        zero.publish("al/x", 0, false, 0, utf8("x"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 0));
        assertEquals(0x94, zero.expectDisconnect());
    }

    @Test
    void unknownAliasAndEmptyTopicAreProtocolErrors() throws Exception {
        RawClient pub = v5("p");
        pub.publish("", 0, false, 0, utf8("x"), Packets.props(MqttPropertyType.TOPIC_ALIAS, 2));
        assertEquals(0x82, pub.expectDisconnect());
        RawClient empty = v5("e");
        empty.publish("", 0, false, 0, utf8("x"), null);
        assertEquals(0x82, empty.expectDisconnect());
    }

    @Test
    void subscriptionIdentifierInClientPublishIsAProtocolError() throws Exception {
        RawClient pub = v5("p");
        pub.publish("sid/x", 0, false, 0, utf8("x"), Packets.props(MqttPropertyType.SUBSCRIPTION_IDENTIFIER, 3));
        assertEquals(0x82, pub.expectDisconnect());
    }

    // ------------------------------------------------------------------------------------------ topic alias out

    @Test
    void outboundTopicAliases() throws Exception {
        String base = "ao/" + id("t");
        RawClient sub = v5With("s", MqttPropertyType.TOPIC_ALIAS_MAXIMUM, 2);
        sub.subscribe(1, base + "/#", 0);
        RawClient noAlias = v5("n");
        noAlias.subscribe(1, base + "/#", 0);
        RawClient pub = v5("p");
        String[] topics = {base + "/a", base + "/a", base + "/b", base + "/c", base + "/a", base + "/c"};
        for (int i = 0; i < topics.length; i++) {
            pub.publish1(topics[i], "m" + i, 1 + i);
        }
        // what goes on the wire: the first two topics get aliases 1 and 2 for the life of the connection, later ones
        // none (no alias is reassigned); a topic with an alias is sent once in full, then as an empty topic name
        String[] wireTopics = {topics[0], "", topics[2], topics[3], "", topics[5]};
        Integer[] wireAliases = {1, 1, 2, null, 1, null};
        java.util.Map<Integer, String> aliases = new java.util.HashMap<>();
        for (int i = 0; i < topics.length; i++) {
            MqttPublishMessage p = sub.expectPublish();
            assertEquals("m" + i, Packets.text(p));
            Integer alias = Packets.intProp(p.variableHeader().properties(), MqttPropertyType.TOPIC_ALIAS);
            String topic = p.variableHeader().topicName();
            assertEquals(wireTopics[i], topic, "topic name on the wire of m" + i);
            assertEquals(wireAliases[i], alias, "topic alias of m" + i);
            if (alias != null) {
                assertTrue(alias >= 1 && alias <= 2, "alias within the client's Topic Alias Maximum: " + alias);
                if (topic.isEmpty()) {
                    topic = aliases.get(alias);
                    assertNotNull(topic, "alias used before it was set");
                } else {
                    aliases.put(alias, topic);
                }
            }
            assertEquals(topics[i], topic, "topic of m" + i + " as the client resolves it");
            MqttPublishMessage n = noAlias.expectPublish(topics[i], "m" + i);
            assertNull(Packets.intProp(n.variableHeader().properties(), MqttPropertyType.TOPIC_ALIAS),
                    "no aliases for a client without Topic Alias Maximum");
        }
        assertEquals(java.util.Map.of(1, topics[0], 2, topics[2]), aliases);
    }

    // ------------------------------------------------------------------------------------------ properties

    @Test
    void publicationPropertiesArePassedThrough() throws Exception {
        String t = "props/" + id("t");
        RawClient sub = v5("s");
        sub.subscribe(1, t, 1);
        RawClient v3 = v311("v3");
        v3.subscribe(1, t, 0);
        RawClient pub = v5("p");
        MqttProperties props = new MqttProperties();
        props.add(new MqttProperties.UserProperty("k1", "v1"));
        props.add(new MqttProperties.UserProperty("k2", "v2"));
        props.add(new MqttProperties.UserProperty("k1", "again"));
        props.add(new MqttProperties.StringProperty(MqttPropertyType.CONTENT_TYPE.value(), "application/json"));
        props.add(new MqttProperties.StringProperty(MqttPropertyType.RESPONSE_TOPIC.value(), "reply/here"));
        props.add(new MqttProperties.BinaryProperty(MqttPropertyType.CORRELATION_DATA.value(), new byte[] {1, 2, 3}));
        props.add(new MqttProperties.IntegerProperty(MqttPropertyType.PAYLOAD_FORMAT_INDICATOR.value(), 1));
        pub.publish(t, 1, false, 1, utf8("{}"), props);
        pub.expect(MqttMessageType.PUBACK);
        MqttPublishMessage p = sub.expectPublish(t, "{}");
        MqttProperties got = p.variableHeader().properties();
        List<String> users = new ArrayList<>();
        for (MqttProperties.MqttProperty<?> u : got.getProperties(MqttPropertyType.USER_PROPERTY.value())) {
            MqttProperties.StringPair pair = (MqttProperties.StringPair) u.value();
            users.add(pair.key + "=" + pair.value);
        }
        assertEquals(List.of("k1=v1", "k2=v2", "k1=again"), users, "user properties in order");
        assertEquals("application/json", Packets.stringProp(got, MqttPropertyType.CONTENT_TYPE));
        assertEquals("reply/here", Packets.stringProp(got, MqttPropertyType.RESPONSE_TOPIC));
        assertArrayEquals(new byte[] {1, 2, 3},
                (byte[]) got.getProperty(MqttPropertyType.CORRELATION_DATA.value()).value());
        assertEquals(1, Packets.intProp(got, MqttPropertyType.PAYLOAD_FORMAT_INDICATOR));
        sub.acknowledge(p);
        v3.expectPublish(t, "{}"); // a 3.1.1 subscriber gets the message without properties
    }

    @Test
    void realClientsPassProperties() throws Exception {
        String t = "props/" + id("t");
        BlockingQueue<org.eclipse.paho.mqttv5.common.MqttMessage> got = new ArrayBlockingQueue<>(2);
        MqttClient paho = new MqttClient(uri, id("paho"), new MemoryPersistence());
        paho.connect(new MqttConnectionOptions());
        paho.subscribe(new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
                new org.eclipse.paho.mqttv5.common.MqttSubscription(t, 1)},
                new org.eclipse.paho.mqttv5.client.IMqttMessageListener[] {(topic, m) -> got.add(m)});
        Mqtt5BlockingClient h = Mqtt5Client.builder().identifier(id("h")).serverHost("127.0.0.1").serverPort(port)
                .buildBlocking();
        h.connect();
        h.publishWith().topic(t).qos(MqttQos.AT_LEAST_ONCE).payload(utf8("req"))
                .contentType("text/plain").responseTopic("resp/" + t).correlationData(utf8("corr"))
                .payloadFormatIndicator(Mqtt5PayloadFormatIndicator.UTF_8).messageExpiryInterval(120)
                .userProperties().add("a", "b").applyUserProperties().send();
        org.eclipse.paho.mqttv5.common.MqttMessage m = got.poll(5, TimeUnit.SECONDS);
        assertNotNull(m);
        assertEquals("req", new String(m.getPayload(), StandardCharsets.UTF_8));
        assertEquals("text/plain", m.getProperties().getContentType());
        assertEquals("resp/" + t, m.getProperties().getResponseTopic());
        assertEquals("corr", new String(m.getProperties().getCorrelationData(), StandardCharsets.UTF_8));
        assertTrue(m.getProperties().getPayloadFormat());
        assertTrue(m.getProperties().getMessageExpiryInterval() <= 120L);
        assertEquals(List.of(new UserProperty("a", "b")), m.getProperties().getUserProperties());
        h.disconnect();
        paho.disconnect();
        paho.close();
    }

    @Test
    void invalidUtf8PayloadWithFormatIndicatorIsRefused() throws Exception {
        String t = "pfi/" + id("t");
        RawClient sub = v5("s");
        sub.subscribe(1, t, 1);
        RawClient pub = v5("p");
        pub.publish(t, 1, false, 1, new byte[] {(byte) 0xC3, 0x28}, Packets.props(
                MqttPropertyType.PAYLOAD_FORMAT_INDICATOR, 1));
        assertEquals(0x99, Packets.reasonCode(pub.expect(MqttMessageType.PUBACK)));
        pub.publish1(t, "ok", 2);
        sub.expectPublish(t, "ok");
    }

    // ------------------------------------------------------------------------------------------ packet size

    /** A QoS 0 PUBLISH of exactly {@code size} bytes on the wire (topic "big/x", no properties). */
    private byte[] publishOfSize(int size, boolean v5) {
        byte[] topic = utf8("big/x");
        int headerGuess = size > 129 ? 3 : 2;
        int payload = size - headerGuess - 2 - topic.length - (v5 ? 1 : 0);
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.write(0);
        body.write(topic.length);
        body.writeBytes(topic);
        if (v5) {
            body.write(0);
        }
        body.writeBytes(new byte[payload]);
        byte[] packet = Packets.frame(0x30, body.toByteArray());
        assertEquals(size, packet.length);
        return packet;
    }

    @Test
    void packetOverMaximumPacketSizeIsRefused() throws Exception {
        RawClient sub = v5("s");
        sub.subscribe(1, "big/x", 0);
        RawClient ok = v5("ok");
        ok.sendBytes(publishOfSize(MAX_PACKET, true));
        MqttPublishMessage p = sub.expectPublish();
        assertEquals("big/x", p.variableHeader().topicName());
        assertTrue(ok.drainUntilPing().isEmpty()); // the connection stays open: it answers a PINGREQ

        RawClient big = v5("big");
        big.sendBytes(publishOfSize(MAX_PACKET + 1, true));
        assertEquals(0x95, big.expectDisconnect());

        RawClient v3 = v311("v3");
        v3.sendBytes(publishOfSize(MAX_PACKET + 200, false));
        v3.assertClosedWithoutPackets();
        // their connections are gone: fence with markers from fresh publishers
        assertTrue(fence(sub).isEmpty(), "oversized messages were not routed");
    }

    @Test
    void brokerDoesNotSendMoreThanClientMaximumPacketSize() throws Exception {
        String t = "mps/" + id("t");
        RawClient small = v5With("small", MqttPropertyType.MAXIMUM_PACKET_SIZE, 100);
        small.subscribe(1, t, 1);
        RawClient large = v5("large");
        large.subscribe(1, t, 1);
        RawClient pub = v5("p");
        String big = "x".repeat(200);
        pub.publish1(t, big, 1);
        pub.publish1(t, "small", 2);
        pub.publish(t, 0, 0, big);
        pub.publish1(t, "small2", 3);
        MqttPublishMessage first = small.expectPublish(t, "small");
        small.acknowledge(first);
        MqttPublishMessage second = small.expectPublish(t, "small2");
        small.acknowledge(second);
        assertTrue(receivedBefore(small, pub).isEmpty(), "oversized message sent after all");
        List<String> bigOnes = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            MqttPublishMessage p = large.expectPublish();
            bigOnes.add(Packets.text(p));
            large.acknowledge(p);
        }
        assertEquals(List.of(big, "small", big, "small2"), bigOnes);
    }
}
