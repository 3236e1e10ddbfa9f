package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What happens to the messages a member of a shared subscription holds when its session ends: the queued ones and
 * the QoS 1 ones it has not acknowledged go to another member of the group; a QoS 2 message already sent to it
 * never goes to another member [MQTT-4.8.2-5], not even before the member sent PUBREC.
 */
class SharedHandoverTest extends BrokerTestBase {

    @Test
    void sessionEndHandsOverQueuedAndUnacknowledgedQos1ButNotSentQos2() throws Exception {
        String topic = "handover/" + id("t");
        String shared = "$share/g/" + topic;
        // a member whose Receive Maximum of 2 lets the broker send it two messages, then queue the rest
        RawClient a = connect(Packets.connect(MqttVersion.MQTT_5, id("a"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 2)));
        a.subscribe(1, shared, 2);
        RawClient pub = v5("p");

        pub.publish2(topic, "q2", 1);
        MqttPublishMessage q2 = a.expectPublish(topic, "q2");
        assertEquals(2, q2.fixedHeader().qosLevel().value());
        pub.publish1(topic, "q1", 2);
        MqttPublishMessage q1 = a.expectPublish(topic, "q1");
        assertEquals(1, q1.fixedHeader().qosLevel().value());
        // neither is acknowledged (no PUBREC, no PUBACK): the window is full, the next ones are queued
        pub.publish1(topic, "queued1", 3);
        pub.publish2(topic, "queued2", 4);
        assertTrue(receivedBefore(a, pub).isEmpty(), "the window of 2 is full: the rest is queued");

        RawClient b = v5("b");
        b.subscribe(1, shared, 2);
        a.disconnect(); // Session Expiry 0: the session ends with the connection

        List<String> got = new ArrayList<>();
        while (!got.contains("queued2/2")) { // the last one the ending session held
            MqttMessage m = b.poll(RawClient.TIMEOUT_MS);
            assertNotNull(m, "handed over so far: " + got);
            collect(b, m, got);
        }
        // the hand-over keeps the order of the ending session (its inflight messages, then its queue), and
        // anything else would arrive before the marker
        for (MqttMessage m : receivedBefore(b, pub)) {
            collect(b, m, got);
        }
        assertEquals(List.of("q1/1", "queued1/1", "queued2/2"), got,
                "unacknowledged QoS 1 and queued messages go to the other member, the QoS 2 one sent already not");
    }

    /** Records a PUBLISH as "payload/qos" and acknowledges it; completes QoS 2 flows on PUBREL. */
    private static void collect(RawClient c, MqttMessage m, List<String> got) {
        switch (m.fixedHeader().messageType()) {
            case PUBLISH -> {
                MqttPublishMessage p = (MqttPublishMessage) m;
                int qos = p.fixedHeader().qosLevel().value();
                got.add(Packets.text(p) + "/" + qos);
                if (qos > 0) {
                    c.ack(qos == 1 ? MqttMessageType.PUBACK : MqttMessageType.PUBREC, p.variableHeader().packetId());
                }
            }
            case PUBREL -> c.ack(MqttMessageType.PUBCOMP, Packets.packetId(m));
            default -> throw new AssertionError("unexpected " + m);
        }
    }
}
