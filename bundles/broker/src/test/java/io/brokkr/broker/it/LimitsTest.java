package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Server limits announced in CONNACK and enforced: max.qos=1, retain.available=false. */
class LimitsTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.qos", "1");
        m.put("retain.available", "false");
        return m;
    }

    @Test
    void connackAnnouncesLimits() throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_5, id("c"), true, 10, null));
        MqttProperties p = ack.variableHeader().properties();
        assertEquals(1, Packets.intProp(p, MqttPropertyType.MAXIMUM_QOS));
        assertEquals(0, Packets.intProp(p, MqttPropertyType.RETAIN_AVAILABLE));
    }

    @Test
    void subscriptionsAreGrantedAtMostMaxQos() throws Exception {
        String t = "lim/" + id("t");
        RawClient s = v5("s");
        assertEquals(List.of(1), RawClient.codes(s.subscribe(1, t, 2)));
        RawClient s3 = v311("s3");
        assertEquals(List.of(1), RawClient.codes(s3.subscribe(1, t, 2)));
        RawClient p = v311("p");
        p.publish1(t, "x", 1);
        MqttPublishMessage m = s.expectPublish(t, "x");
        assertEquals(1, m.fixedHeader().qosLevel().value());
    }

    @Test
    void publishAboveMaxQosIsRefused() throws Exception {
        RawClient c = v5("c");
        c.publish("lim/" + id("t"), 2, 1, "x");
        assertEquals(0x9B, c.expectDisconnect());
        RawClient v3 = v311("v3");
        v3.publish("lim/" + id("t"), 2, 1, "x");
        v3.assertClosedWithoutPackets();
    }

    @Test
    void retainIsRefusedWhenUnavailable() throws Exception {
        RawClient c = v5("c");
        c.publish("lim/" + id("t"), 1, true, 1, utf8("r"), null);
        assertEquals(0x9A, c.expectDisconnect());
        RawClient w = open();
        MqttConnAckMessage ack = w.connack(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5)
                .clientId(id("w")).keepAlive(10).willFlag(true).willTopic("lim/will").willMessage(utf8("w"))
                .willQoS(MqttQoS.AT_MOST_ONCE).willRetain(true).build());
        assertEquals(0x9A, RawClient.returnCode(ack));
        assertTrue(w.awaitClosed());
        RawClient q = open();
        MqttConnAckMessage ack2 = q.connack(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5)
                .clientId(id("q")).keepAlive(10).willFlag(true).willTopic("lim/will").willMessage(utf8("w"))
                .willQoS(MqttQoS.EXACTLY_ONCE).build());
        assertEquals(0x9B, RawClient.returnCode(ack2));
    }
}
