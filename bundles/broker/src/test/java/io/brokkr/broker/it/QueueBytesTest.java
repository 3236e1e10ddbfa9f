package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * max.queued.bytes: a session's queue is bounded by the bytes of its messages as well as by their number. The bound
 * here is 10,000 bytes and the messages carry 3,000 bytes each (about 3,040 with topic and header), so three fit and
 * the fourth does not. Every path that takes messages out of the queue gives their bytes back.
 */
class QueueBytesTest extends BrokerTestBase {

    private static final int PAYLOAD = 3_000;

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("max.queued.bytes", "10000");
        return m;
    }

    private static byte[] payload(String label) {
        byte[] p = new byte[PAYLOAD];
        Arrays.fill(p, (byte) '.');
        byte[] l = label.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(l, 0, p, 0, l.length);
        return p;
    }

    private static String label(MqttPublishMessage p) {
        return Packets.text(p).replace(".", "");
    }

    private void publish(RawClient pub, String topic, String label, int packetId) throws InterruptedException {
        pub.publish(topic, 1, false, packetId, payload(label), null);
        MqttMessage ack = pub.expect(MqttMessageType.PUBACK);
        assertEquals(packetId, Packets.packetId(ack));
    }

    private RawClient reconnect(String suffix) throws InterruptedException {
        return track(RawClient.connect(port, Packets.connect5(id(suffix), false, 300)));
    }

    /** Receives and acknowledges the next PUBLISH; returns its label. */
    private static String receive(RawClient c) throws InterruptedException {
        MqttPublishMessage p = c.expectPublish();
        c.acknowledge(p);
        return label(p);
    }

    private long dropped() {
        return broker.stats().messagesDropped();
    }

    private long stored() {
        return broker.stats().storedMessages();
    }

    @Test
    void offlineQueueIsBoundedByBytesAndGivesThemBackWhenDrained() throws Exception {
        String topic = "qb/" + id("t");
        RawClient sub = v5Persistent("sub", 300, true);
        sub.subscribe(1, topic, 1);
        sub.disconnect();
        awaitOffline(id("sub"));

        RawClient pub = v5("pub");
        long droppedBefore = dropped();
        for (int i = 0; i < 6; i++) {
            publish(pub, topic, "m" + i, i + 1);
        }
        await(() -> dropped() - droppedBefore == 3, "three messages over max.queued.bytes dropped");
        await(() -> queued(id("sub")) == 3, "three messages queued");

        sub = reconnect("sub");
        assertEquals(List.of("m0", "m1", "m2"), List.of(receive(sub), receive(sub), receive(sub)));
        assertTrue(receivedBefore(sub, pub).isEmpty(), "messages over the byte bound were delivered");
        assertEquals(3, dropped() - droppedBefore);

        // the drained messages gave their bytes back: three more fit again
        sub.disconnect();
        awaitOffline(id("sub"));
        for (int i = 6; i < 9; i++) {
            publish(pub, topic, "m" + i, i + 1);
        }
        await(() -> queued(id("sub")) == 3, "three messages queued again");
        sub = reconnect("sub");
        assertEquals(List.of("m6", "m7", "m8"), List.of(receive(sub), receive(sub), receive(sub)));
        assertEquals(3, dropped() - droppedBefore, "nothing dropped after the queue drained");
    }

    @Test
    void expiredMessagesPurgedFromTheQueueGiveTheirBytesBack() throws Exception {
        String topic = "qb/" + id("t");
        RawClient sub = v5Persistent("sub", 300, true);
        sub.subscribe(1, topic, 1);
        sub.disconnect();
        awaitOffline(id("sub"));

        RawClient pub = v5("pub");
        long storedBefore = stored();
        for (int i = 0; i < 3; i++) {
            pub.publish(topic, 1, false, i + 1, payload("x" + i),
                    Packets.props(MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL, 1));
            pub.expect(MqttMessageType.PUBACK);
        }
        await(() -> stored() - storedBefore == 3, "three short-lived messages queued");
        await(() -> stored() == storedBefore, "expired messages purged from the offline queue");

        long droppedBefore = dropped();
        for (int i = 3; i < 6; i++) {
            publish(pub, topic, "m" + i, i + 1);
        }
        await(() -> stored() - storedBefore == 3, "three messages queued after the purge");
        assertEquals(droppedBefore, dropped(), "messages dropped although the purge freed the queue");
        sub = reconnect("sub");
        assertEquals(List.of("m3", "m4", "m5"), List.of(receive(sub), receive(sub), receive(sub)));
    }

    /**
     * A member of a share group with a full window (Receive Maximum 1, nothing acknowledged) that unsubscribes passes
     * its queued messages of the group on (here: dropped, no other member): their bytes are free for its other
     * subscriptions.
     */
    @Test
    void messagesTakenForAShareGroupGiveTheirBytesBack() throws Exception {
        String shared = "qb/" + id("s");
        String other = "qb/" + id("u");
        RawClient sub = track(RawClient.connect(port, Packets.connect(MqttVersion.MQTT_5, id("sub"), true, 30,
                Packets.props(MqttPropertyType.SESSION_EXPIRY_INTERVAL, 300, MqttPropertyType.RECEIVE_MAXIMUM, 1))));
        sub.subscribe(1, "$share/g/" + shared, 1);
        sub.subscribe(2, other, 1);
        RawClient pub = v5("pub");
        long droppedBefore = dropped();
        for (int i = 0; i < 4; i++) {
            publish(pub, shared, "s" + i, i + 1);
        }
        MqttPublishMessage first = sub.expectPublish(); // the window is full now: s1..s3 are queued
        assertEquals("s0", label(first));
        await(() -> queued(id("sub")) == 3, "three messages queued behind the window");
        assertEquals(droppedBefore, dropped());

        sub.send(MqttMessageBuilders.unsubscribe().messageId(3).addTopicFilter("$share/g/" + shared).build());
        sub.expect(MqttMessageType.UNSUBACK);
        await(() -> dropped() - droppedBefore == 3, "queued messages of the group dropped (no member left)");

        for (int i = 0; i < 3; i++) {
            publish(pub, other, "u" + i, 10 + i);
        }
        await(() -> queued(id("sub")) == 3, "three messages of the other subscription queued");
        assertEquals(3, dropped() - droppedBefore, "messages dropped although the queue was emptied");
        sub.acknowledge(first);
        assertEquals(List.of("u0", "u1", "u2"), List.of(receive(sub), receive(sub), receive(sub)));
    }

    @Test
    void theBoundIsAConfigurationKey() {
        assertEquals(64L * 1024 * 1024, BrokerConfig.defaults().maxQueuedBytes());
        assertEquals(0, BrokerConfig.fromProperties(Map.of("max.queued.bytes", "0")).maxQueuedBytes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BrokerConfig.fromProperties(Map.of("max.queued.bytes", "-1")));
        assertTrue(e.getMessage().contains("max.queued.bytes"), e.getMessage());
    }

    private int queued(String clientId) {
        return broker.sessions().stream().filter(s -> s.clientId().equals(clientId)).findFirst()
                .map(s -> s.queued()).orElse(-1);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(10);
        }
    }
}
