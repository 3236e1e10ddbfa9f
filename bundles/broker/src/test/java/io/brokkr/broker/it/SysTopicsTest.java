package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.Await;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** $SYS/broker/... topics published every sys.interval (1 s here), retained, only to explicit $SYS subscribers. */
class SysTopicsTest extends BrokerTestBase {

    private static final String P = "$SYS/broker/";
    /** Every name Broker.publishSys publishes (under $SYS/broker/). */
    private static final String[] ALL = {
        "version", "uptime", "clients/connected", "clients/active", "clients/disconnected", "clients/inactive",
        "clients/total", "clients/maximum", "messages/received", "messages/sent", "messages/stored",
        "store/messages/count", "publish/messages/received", "publish/messages/sent", "publish/messages/dropped",
        "bytes/received", "bytes/sent", "subscriptions/count", "retained messages/count", "publish/pauses",
        "publish/pauses/extended", "publish/pauses/capped"};

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("sys.interval", "1");
        m.put("sys.topics.role", ""); // anonymous clients may read $SYS here (SysTopicsAccessTest: the default)
        m.put("max.queued.messages", "1"); // an offline session keeps one message: stored and dropped counts move
        return m;
    }

    private final Map<String, String> latest = new HashMap<>();

    private void take(MqttMessage m) {
        MqttPublishMessage p = (MqttPublishMessage) m;
        latest.put(p.variableHeader().topicName(), Packets.text(p));
    }

    /** Reads $SYS updates until the topic's value satisfies the condition (within 5 s). */
    private String await(RawClient c, String topic, Predicate<String> ok) throws Exception {
        long deadline = System.currentTimeMillis() + 5_000;
        while (true) {
            String v = latest.get(topic);
            if (v != null && ok.test(v)) {
                return v;
            }
            long left = deadline - System.currentTimeMillis();
            assertTrue(left > 0, topic + " never satisfied the condition; last value " + v);
            MqttMessage m = c.poll(left);
            if (m != null) {
                take(m);
            }
        }
    }

    private static long number(String v) {
        return Long.parseLong(v.split(" ")[0]);
    }

    /** The latest value of $SYS/broker/{@code name} as a number. */
    private long value(String name) {
        String v = latest.get(P + name);
        assertNotNull(v, P + name + " never published");
        return number(v);
    }

    /** Waits until $SYS/broker/{@code name} is {@code expected}. */
    private void awaitValue(RawClient sys, String name, long expected) throws Exception {
        await(sys, P + name, v -> number(v) == expected);
    }

    /**
     * Reads $SYS updates until a whole round that started after this call has been read. Only changed values are
     * published, so before this a value in {@link #latest} may be stale (the same as before a change that should
     * have altered it). A round that publishes an uptime above the broker's uptime now started after this call;
     * the next uptime starts the round after it.
     */
    private void settle(RawClient sys) throws Exception {
        long now = broker.stats().uptimeSeconds();
        long started = number(await(sys, P + "uptime", v -> number(v) > now));
        await(sys, P + "uptime", v -> number(v) > started);
    }

    /** After {@link #settle}: the clients' counts and their Mosquitto aliases agree. */
    private void assertClients(long connected, long disconnected) {
        assertEquals(connected, value("clients/connected"), "clients/connected");
        assertEquals(connected, value("clients/active"), "clients/active");
        assertEquals(disconnected, value("clients/disconnected"), "clients/disconnected");
        assertEquals(disconnected, value("clients/inactive"), "clients/inactive");
        assertEquals(connected + disconnected, value("clients/total"), "clients/total");
        assertEquals(broker.stats().clientsMaximum(), value("clients/maximum"), "clients/maximum");
        assertTrue(value("clients/maximum") >= connected);
    }

    /** Size of a QoS 1 MQTT 5 PUBLISH without properties. */
    private static int publishSize(String topic, String payload) {
        int remaining = 2 + Packets.utf8(topic).length + 2 + 1 + Packets.utf8(payload).length;
        return 2 + remaining;
    }

    @Test
    void everySysTopicCarriesItsValue() throws Exception {
        latest.clear();
        // other test methods' clients are gone: the counts below are this test's own
        Await.until("only this test's clients connected", RawClient.TIMEOUT_MS,
                () -> broker.clients().isEmpty() && broker.sessions().isEmpty());
        RawClient sys = v5("sys");
        sys.subscribe(1, "$SYS/broker/#", 0);
        // retained values are sent while the SUBSCRIBE is handled, on sys's own loop: the PINGREQ fence suffices
        for (MqttMessage m : sys.drainUntilPing()) {
            assertTrue(((MqttPublishMessage) m).fixedHeader().isRetain(), "current values are retained");
            take(m);
        }
        for (String t : ALL) {
            assertNotNull(latest.get(P + t), P + t + " not retained at subscribe");
        }
        assertTrue(latest.get(P + "version").startsWith("brokkr version "), latest.get(P + "version"));
        assertTrue(latest.get(P + "uptime").matches("\\d+ seconds"), latest.get(P + "uptime"));
        long up = value("uptime");
        await(sys, P + "uptime", v -> number(v) > up);

        settle(sys);
        assertClients(1, 0);
        assertEquals(1, value("subscriptions/count"));
        assertEquals(0, value("messages/stored"));
        assertEquals(0, value("store/messages/count"));

        // a persistent session that goes offline, with one subscription
        String q = "sys/" + id("q");
        RawClient off = v5Persistent("off", 300, true);
        off.subscribe(1, q, 1);
        awaitValue(sys, "clients/connected", 2);
        awaitValue(sys, "subscriptions/count", 2);
        off.disconnect();
        awaitOffline(id("off"));
        awaitValue(sys, "clients/connected", 1);
        awaitValue(sys, "clients/disconnected", 1);
        settle(sys);
        assertClients(1, 1);
        assertEquals(2, value("subscriptions/count"), "an offline session keeps its subscriptions");

        // three QoS 1 messages for it: max.queued.messages = 1 keeps the first and drops the other two
        long dropped = value("publish/messages/dropped");
        long received = value("publish/messages/received");
        long packetsIn = value("messages/received");
        long bytesIn = value("bytes/received");
        long retained = value("retained messages/count");
        RawClient pub = v5("pub");
        for (int i = 0; i < 3; i++) {
            pub.publish1(q, "m" + i, 1 + i);
        }
        await(sys, P + "clients/maximum", v -> number(v) >= 2);
        awaitValue(sys, "messages/stored", 1);
        awaitValue(sys, "store/messages/count", 1);
        awaitValue(sys, "publish/messages/dropped", dropped + 2);
        awaitValue(sys, "publish/messages/received", received + 3);
        // CONNECT and three PUBLISHes at least (sys's PINGREQs may add to it)
        await(sys, P + "messages/received", v -> number(v) >= packetsIn + 4);
        await(sys, P + "bytes/received", v -> number(v) >= bytesIn + 3 * publishSize(q, "m0"));
        pub.retain(q + "/r", "kept", 9);
        awaitValue(sys, "retained messages/count", retained + 1);
        awaitValue(sys, "publish/messages/received", received + 4);

        // the session comes back and gets its message
        long sent = value("publish/messages/sent");
        long packetsOut = value("messages/sent");
        long bytesOut = value("bytes/sent");
        RawClient back = track(RawClient.open(port));
        assertTrue(back.connack(Packets.connect5(id("off"), false, 0)).variableHeader().isSessionPresent());
        back.acknowledge(back.expectPublish(q, "m0"));
        awaitValue(sys, "messages/stored", 0);
        awaitValue(sys, "store/messages/count", 0);
        awaitValue(sys, "clients/disconnected", 0);
        awaitValue(sys, "clients/connected", 3);
        // the PUBLISH to back (sys's own $SYS updates add to these)
        await(sys, P + "publish/messages/sent", v -> number(v) >= sent + 1);
        // CONNACK and PUBLISH to back, PUBACKs and CONNACK to pub before
        await(sys, P + "messages/sent", v -> number(v) >= packetsOut + 2);
        await(sys, P + "bytes/sent", v -> number(v) >= bytesOut + publishSize(q, "m0"));
        pub.retain(q + "/r", "", 10);
        awaitValue(sys, "retained messages/count", retained);
        back.disconnect(); // session expiry 0: the session ends
        awaitSessionGone(id("off"), RawClient.TIMEOUT_MS);
        awaitValue(sys, "subscriptions/count", 1);
        awaitValue(sys, "clients/connected", 2);
        settle(sys);
        assertClients(2, 0);
        assertTrue(value("clients/maximum") >= 3, "sys, pub and back were connected at once");
        assertEquals(retained, value("retained messages/count"));
        assertEquals(dropped + 2, value("publish/messages/dropped"));
        // nobody was congested in this test (BackPressureTest moves these)
        assertEquals(broker.publishersPaused(), value("publish/pauses"));
        assertEquals(broker.publisherPausesExtended(), value("publish/pauses/extended"));
        assertEquals(broker.publisherPausesCapped(), value("publish/pauses/capped"));
    }

    @Test
    void sysTopicsAreNotMatchedByHash() throws Exception {
        latest.clear();
        RawClient all = v5("all");
        all.subscribe(1, "#", 0);
        RawClient plus = v5("plus");
        plus.subscribe(1, "+/broker/#", 0);
        // a $SYS round after these subscriptions: uptime changes every round
        RawClient sys = v5("sys");
        sys.subscribe(1, "$SYS/broker/uptime", 0);
        long up = number(await(sys, P + "uptime", v -> true));
        await(sys, P + "uptime", v -> number(v) > up);
        for (MqttMessage m : fence(all)) {
            assertFalse(((MqttPublishMessage) m).variableHeader().topicName().startsWith("$SYS"));
        }
        assertTrue(fence(plus).isEmpty());
    }
}
