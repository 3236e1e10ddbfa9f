package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.brokkr.api.auth.AuthenticationResult;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttMessageListener;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.Test;

/**
 * MQTT 5 User Properties on their own, without any other property in the packet. Netty's
 * {@code MqttProperties.isEmpty()} does not count User Properties (nor Subscription Identifiers), which once made
 * the broker drop the User Properties of a PUBLISH or will that had no other property. They must reach every
 * subscriber unaltered, in order and with duplicates [MQTT-3.3.2-17], [MQTT-3.3.2-18], also from the retained store
 * and from a will.
 */
class UserPropertiesTest extends BrokerTestBase {

    /** a, c and a again: order and duplicates both matter. */
    private static final List<String> SENT = List.of("a=2", "c=3", "a=2");

    private static MqttProperties userPropertiesOnly() {
        MqttProperties p = new MqttProperties();
        for (String kv : SENT) {
            String[] s = kv.split("=");
            p.add(new MqttProperties.UserProperty(s[0], s[1]));
        }
        return p;
    }

    private static List<String> userProperties(MqttPublishMessage p) {
        List<String> out = new ArrayList<>();
        for (MqttProperties.MqttProperty<?> u : p.variableHeader().properties()
                .getProperties(MqttPropertyType.USER_PROPERTY.value())) {
            MqttProperties.StringPair pair = (MqttProperties.StringPair) u.value();
            out.add(pair.key + "=" + pair.value);
        }
        return out;
    }

    private static MqttSubscriptionOption qos(int qos) {
        return new MqttSubscriptionOption(MqttQoS.valueOf(qos), false, false,
                MqttSubscriptionOption.RetainedHandlingPolicy.SEND_AT_SUBSCRIBE);
    }

    @Test
    void liveDeliveryAtEveryQos() throws Exception {
        for (int q = 0; q <= 2; q++) {
            String t = "up/" + id("q" + q);
            RawClient sub = v5("s" + q);
            sub.subscribe(1, null, t, qos(2));
            RawClient pub = v5("p" + q);
            pub.publish(t, q, false, 10 + q, utf8("hi"), userPropertiesOnly());
            if (q == 1) {
                pub.expect(MqttMessageType.PUBACK);
            } else if (q == 2) {
                pub.expect(MqttMessageType.PUBREC);
                pub.ack(MqttMessageType.PUBREL, 10 + q);
                pub.expect(MqttMessageType.PUBCOMP);
            }
            MqttPublishMessage p = sub.expectPublish(t, "hi");
            assertEquals(q, p.fixedHeader().qosLevel().value());
            assertEquals(SENT, userProperties(p), "QoS " + q + ": user properties in order, duplicates kept");
            sub.acknowledge(p);
        }
    }

    @Test
    void retainedMessageKeepsThemForALaterSubscriber() throws Exception {
        String t = "up/" + id("r");
        RawClient pub = v5("p");
        pub.publish(t, 1, true, 1, utf8("kept"), userPropertiesOnly());
        pub.expect(MqttMessageType.PUBACK);
        RawClient sub = v5("s");
        sub.subscribe(1, null, t, qos(1));
        MqttPublishMessage p = sub.expectPublish(t, "kept");
        assertTrue(p.fixedHeader().isRetain());
        assertEquals(SENT, userProperties(p));
        sub.acknowledge(p);
        pub.publish(t, 1, true, 2, new byte[0], null); // clear it
        pub.expect(MqttMessageType.PUBACK);
    }

    @Test
    void willWithOnlyUserProperties() throws Exception {
        String t = "up/" + id("w");
        RawClient w = v5("w");
        w.subscribe(1, null, t, qos(1));
        String cid = id("dies");
        RawClient c = connect(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId(cid)
                .cleanSession(true).keepAlive(10).willFlag(true).willTopic(t).willMessage(utf8("gone"))
                .willQoS(MqttQoS.AT_LEAST_ONCE).willProperties(userPropertiesOnly()).build());
        c.drop();
        MqttPublishMessage will = w.expectPublish(t, "gone");
        assertEquals(SENT, userProperties(will), "will user properties are passed on");
        w.acknowledge(will);
    }

    /** Real clients end to end (this one passed with the old bug too). */
    @Test
    void pahoV5ClientsSeeThem() throws Exception {
        String t = "up/" + id("paho");
        BlockingQueue<org.eclipse.paho.mqttv5.common.MqttMessage> got = new ArrayBlockingQueue<>(1);
        MqttClient sub = new MqttClient(uri, id("ps"), new MemoryPersistence());
        sub.connect(new MqttConnectionOptions());
        sub.subscribe(new MqttSubscription[] {new MqttSubscription(t, 1)},
                new IMqttMessageListener[] {(topic, m) -> got.add(m)});
        MqttClient pub = new MqttClient(uri, id("pp"), new MemoryPersistence());
        pub.connect(new MqttConnectionOptions());
        org.eclipse.paho.mqttv5.common.MqttMessage m = new org.eclipse.paho.mqttv5.common.MqttMessage(utf8("hi"));
        m.setQos(1);
        org.eclipse.paho.mqttv5.common.packet.MqttProperties props =
                new org.eclipse.paho.mqttv5.common.packet.MqttProperties();
        props.setUserProperties(List.of(new org.eclipse.paho.mqttv5.common.packet.UserProperty("a", "2"),
                new org.eclipse.paho.mqttv5.common.packet.UserProperty("c", "3")));
        m.setProperties(props);
        pub.publish(t, m);
        org.eclipse.paho.mqttv5.common.MqttMessage in = got.poll(5, TimeUnit.SECONDS);
        assertNotNull(in, "message not received");
        assertEquals("hi", new String(in.getPayload(), StandardCharsets.UTF_8));
        assertEquals(List.of(new org.eclipse.paho.mqttv5.common.packet.UserProperty("a", "2"),
                new org.eclipse.paho.mqttv5.common.packet.UserProperty("c", "3")),
                in.getProperties().getUserProperties());
        pub.disconnect();
        pub.close();
        sub.disconnect();
        sub.close();
    }

    /** The in-process path ({@code BrokerService.publish}, {@code mqtt:publish -u k=v}). */
    @Test
    void brokerServicePublishWithOnlyUserProperties() throws Exception {
        String t = "up/" + id("svc");
        RawClient sub = v5("s");
        sub.subscribe(1, null, t, qos(1));
        MessageProperties mp = new MessageProperties(null, null, null, null, null,
                List.of(new UserProperty("a", "2"), new UserProperty("c", "3"), new UserProperty("a", "2")));
        broker.publish(new Message(t, utf8("hi"), 1, false, mp, null, System.currentTimeMillis()));
        MqttPublishMessage p = sub.expectPublish(t, "hi");
        assertEquals(SENT, userProperties(p));
        sub.acknowledge(p);
    }

    /** CONNECT user properties alone reach the authenticators (AuthenticationRequest.userProperties). */
    @Test
    void connectUserPropertiesReachTheAuthenticator() throws Exception {
        CompletableFuture<List<UserProperty>> seen = new CompletableFuture<>();
        String cid = id("c");
        broker.setAuthenticators(List.of((ctx, req) -> {
            if (ctx.clientId().equals(cid)) {
                seen.complete(req.userProperties());
            }
            return CompletableFuture.completedFuture(AuthenticationResult.allow());
        }));
        try {
            connect(Packets.connect(MqttVersion.MQTT_5, cid, true, 10, userPropertiesOnly()));
            assertEquals(List.of(new UserProperty("a", "2"), new UserProperty("c", "3"), new UserProperty("a", "2")),
                    seen.get(5, TimeUnit.SECONDS));
        } finally {
            broker.setAuthenticators(List.of());
        }
    }

    /**
     * Netty keeps every Subscription Identifier of a SUBSCRIBE; reading only the first would silently accept a
     * packet the specification calls a Protocol Error (MQTT 5.0, 3.8.2.1.2: "It is a Protocol Error to include the
     * Subscription Identifier more than once").
     */
    @Test
    void twoSubscriptionIdentifiersInASubscribeAreAProtocolError() throws Exception {
        RawClient s = v5("s");
        MqttProperties props = new MqttProperties();
        props.add(new MqttProperties.IntegerProperty(MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value(), 1));
        props.add(new MqttProperties.IntegerProperty(MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value(), 2));
        s.send(MqttMessageBuilders.subscribe().messageId(1).properties(props)
                .addSubscription("x/" + id("t"), qos(0)).build());
        assertEquals(0x82, s.expectDisconnect());
    }
}
