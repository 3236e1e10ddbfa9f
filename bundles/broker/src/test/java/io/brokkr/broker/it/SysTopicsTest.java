package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** $SYS/broker/... topics published every sys.interval (1 s here), retained, only to explicit $SYS subscribers. */
class SysTopicsTest extends BrokerTestBase {

    private static final String[] REQUIRED = {
        "$SYS/broker/version", "$SYS/broker/uptime", "$SYS/broker/clients/connected",
        "$SYS/broker/messages/received", "$SYS/broker/messages/sent", "$SYS/broker/subscriptions/count",
        "$SYS/broker/retained messages/count"};

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("sys.interval", "1");
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

    @Test
    void sysTopics() throws Exception {
        RawClient sys = v5("sys");
        sys.subscribe(1, "$SYS/broker/#", 0);
        for (MqttMessage m : sys.drainUntilPing()) {
            assertTrue(((MqttPublishMessage) m).fixedHeader().isRetain(), "current values are retained");
            take(m);
        }
        for (String t : REQUIRED) {
            assertNotNull(latest.get(t), t + " not retained at subscribe");
        }
        assertTrue(latest.get("$SYS/broker/version").startsWith("brokkr version "));

        long up = number(latest.get("$SYS/broker/uptime"));
        await(sys, "$SYS/broker/uptime", v -> number(v) > up);
        await(sys, "$SYS/broker/clients/connected", v -> number(v) >= 1);
        await(sys, "$SYS/broker/subscriptions/count", v -> number(v) >= 1);

        RawClient other = v311("other");
        other.subscribe(1, "sys/" + id("t") + "/#", 1);
        await(sys, "$SYS/broker/clients/connected", v -> number(v) >= 2);
        await(sys, "$SYS/broker/subscriptions/count", v -> number(v) >= 2);

        // counts move with traffic
        long received = number(latest.get("$SYS/broker/messages/received"));
        long sent = number(latest.get("$SYS/broker/messages/sent"));
        long retainedNow = number(await(sys, "$SYS/broker/retained messages/count", v -> true));
        RawClient pub = v5("pub");
        for (int i = 0; i < 3; i++) {
            pub.publish1("sys/" + id("t") + "/" + i, "m", 1 + i);
        }
        pub.retain("sys/" + id("t") + "/r", "kept", 9);
        await(sys, "$SYS/broker/messages/received", v -> number(v) >= received + 4);
        await(sys, "$SYS/broker/messages/sent", v -> number(v) >= sent + 4);
        await(sys, "$SYS/broker/retained messages/count", v -> number(v) == retainedNow + 1);
        pub.retain("sys/" + id("t") + "/r", "", 10);
        await(sys, "$SYS/broker/retained messages/count", v -> number(v) == retainedNow);

        long connected = broker.stats().clientsConnected();
        await(sys, "$SYS/broker/clients/connected", v -> number(v) == connected);
        other.disconnect();
        awaitOffline(id("other"));
        await(sys, "$SYS/broker/clients/connected", v -> number(v) == connected - 1);
    }

    @Test
    void sysTopicsAreNotMatchedByHash() throws Exception {
        RawClient all = v5("all");
        all.subscribe(1, "#", 0);
        RawClient plus = v5("plus");
        plus.subscribe(1, "+/broker/#", 0);
        Thread.sleep(1_100); // at least one $SYS round
        for (MqttMessage m : all.drainUntilPing()) {
            assertFalse(((MqttPublishMessage) m).variableHeader().topicName().startsWith("$SYS"));
        }
        assertTrue(plus.drainUntilPing().isEmpty());
    }
}
