package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.Internals;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A subscriber whose queue is full, on another event loop than the publisher: its QoS 1/2 messages are dropped on the
 * publisher's loop (no hand-off to its loop), counted exactly once each, while the fast subscriber beside it gets
 * everything; QoS 0 for it is still written at once while its socket takes it; and once a message leaves its queue it
 * takes new messages again.
 */
class FullQueueTest extends BrokerTestBase {

    /** max.queued.messages. */
    static final int QUEUE = 10;
    /** Receive Maximum of the slow subscriber: its inflight window. */
    static final int WINDOW = 5;

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.queued.messages", String.valueOf(QUEUE));
        m.put("io.threads", "2"); // two loops: consecutive connections land on different loops (round robin)
        return m;
    }

    @Test
    void aFullSubscriberOnAnotherLoopLosesItsOverflowAloneAndTakesMessagesAgainOnceItsQueueMoves() throws Exception {
        String t = "full/" + id("t");
        RawClient fast = v5("f");
        fast.subscribe(1, t, 0); // reads everything at once
        RawClient slow = connect(Packets.connect(MqttVersion.MQTT_5, id("s"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, WINDOW)));
        slow.subscribe(1, t, 1); // acknowledges nothing until told
        RawClient pub = null;
        for (int i = 0; i < 2 && pub == null; i++) { // round robin: one of two consecutive connections is elsewhere
            RawClient p = v5("p" + i);
            if (Internals.loopOf(broker, id("p" + i)) != Internals.loopOf(broker, id("s"))) {
                pub = p;
            }
        }
        assertTrue(pub != null, "a publisher on another loop than the slow subscriber");

        long droppedBefore = broker.stats().messagesDropped();
        int overflow = 40;
        int n = WINDOW + QUEUE + overflow;
        for (int i = 1; i <= n; i++) {
            MqttMessage ack = pub.publish1(t, "m" + i, i);
            assertEquals(0, Packets.reasonCode(ack), "m" + i + " taken by the fast subscriber");
        }
        for (int i = 1; i <= n; i++) {
            fast.expectPublish(t, "m" + i);
        }
        // the slow one has m1..m5 in flight and m6..m15 queued; the rest was dropped for it alone, each counted once
        assertEquals(droppedBefore + overflow, broker.stats().messagesDropped(), "the slow subscriber's overflow");

        // QoS 0 does not wait behind its full queue: written at once while its socket takes it
        pub.publish(t, 0, 0, "q0");
        fast.expectPublish(t, "q0");
        List<MqttMessage> before = receivedBefore(slow, pub);
        List<String> got = new ArrayList<>();
        List<MqttPublishMessage> inflight = new ArrayList<>();
        for (MqttMessage m : before) {
            if (m instanceof MqttPublishMessage p && p.variableHeader().topicName().equals(t)) {
                got.add(Packets.text(p));
                if (p.fixedHeader().qosLevel().value() == 1) {
                    inflight.add(p);
                }
            }
        }
        assertEquals(List.of("m1", "m2", "m3", "m4", "m5", "q0"), got);

        // it acknowledges: queued messages move into its window, its queue has room, new messages reach it again
        for (MqttPublishMessage p : inflight) {
            slow.acknowledge(p);
        }
        for (int i = 6; i <= 10; i++) {
            slow.acknowledge(slow.expectPublish(t, "m" + i));
        }
        long droppedNow = broker.stats().messagesDropped();
        pub.publish1(t, "again", n + 1);
        fast.expectPublish(t, "again");
        for (int i = 11; i <= 15; i++) {
            slow.acknowledge(slow.expectPublish(t, "m" + i));
        }
        slow.acknowledge(slow.expectPublish(t, "again"));
        assertEquals(droppedNow, broker.stats().messagesDropped(), "nothing dropped once its queue had room");
    }

    /**
     * A session that keeps dropping logs it once, then at most every 10 s: 2,000 drops used to log a line per 1,000
     * drops in the broker (140 lines a second beside a fast fan-in).
     */
    @Test
    void aSessionThatKeepsDroppingLogsItOnceAnInterval() throws Exception {
        String t = "droplog/" + id("t");
        RawClient offline = v5Persistent("s", 300, true);
        offline.subscribe(1, t, 1);
        offline.disconnect();
        awaitOffline(id("s"));
        RawClient pub = v311("p");
        long droppedBefore = broker.stats().messagesDropped();
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        int n = QUEUE + 2_000;
        try {
            System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8)); // slf4j-simple
            for (int i = 1; i <= n; i++) {
                pub.publish1(t, "m" + i, i % 65_535 + 1);
            }
        } finally {
            System.setErr(err);
        }
        assertEquals(droppedBefore + n - QUEUE, broker.stats().messagesDropped(), "every drop counted");
        String session = "Session " + id("s") + ": queue full";
        long lines = log.toString(java.nio.charset.StandardCharsets.UTF_8).lines().filter(l -> l.contains(session))
                .count();
        assertEquals(1, lines, "one line for " + (n - QUEUE) + " drops within 10 s");
    }
}
