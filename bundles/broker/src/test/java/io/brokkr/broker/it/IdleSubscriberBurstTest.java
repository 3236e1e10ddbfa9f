package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.broker.Internals;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A subscriber that had nothing to receive for longer than {@link Internals#STALL_MILLIS} is idle, not stuck: a
 * pipelined burst that fills its queue pauses the publishers as it would for any other subscriber. It used to count
 * as stuck at once (no progress for more than a second), as soon as 25 hand-offs from another loop waited for its
 * loop, so nobody was paused and the burst overflowed its queue (up to 363 of 2,000 refused). On the NIO transport:
 * on epoll the kernel's time of the last data sent to the client usually hid it.
 */
class IdleSubscriberBurstTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.queued.messages", "100");
        m.put("io.threads", "2"); // two loops: consecutive connections land on different loops (round robin)
        m.put("transport.native", "false");
        return m;
    }

    @Test
    void aPipelinedFanInToASubscriberThatWasIdleLosesNothing() throws Exception {
        int publishers = 4; // two per event loop: deliveries reach the subscriber's loop from its own and the other
        int n = 500;
        String t = "burst/" + id("t");
        RawClient sub = connect(Packets.connect(MqttVersion.MQTT_5, id("s"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 10)));
        sub.subscribe(1, t, 1);
        List<RawClient> pubs = new ArrayList<>();
        for (int p = 0; p < publishers; p++) {
            pubs.add(v5("p" + p));
        }
        long before = broker.stats().messagesDropped();
        for (int round = 0; round < 2; round++) { // each round fails on its own, most of the time, without the fix
            int base = round * n;
            Thread.sleep(Internals.STALL_MILLIS + 200); // idle: nothing to receive
            for (int i = 1; i <= n; i++) {
                for (int p = 0; p < publishers; p++) {
                    byte[] payload = utf8(p + "/" + (base + i));
                    pubs.get(p).sendAsync(Packets.publish(t, 1, false, false, i, payload, null));
                }
            }
            Thread.sleep(300); // slow to start acknowledging (well within a second): slow, not stuck
            readNumberedInOrder(sub, publishers, n, base + 1);
            for (int p = 0; p < publishers; p++) {
                for (int i = 1; i <= n; i++) {
                    MqttMessage ack = pubs.get(p).expect(MqttMessageType.PUBACK);
                    assertEquals(0, Packets.reasonCode(ack), "publisher " + p + " message " + i + " refused");
                }
            }
        }
        assertEquals(before, broker.stats().messagesDropped(), "messages dropped");
    }
}
