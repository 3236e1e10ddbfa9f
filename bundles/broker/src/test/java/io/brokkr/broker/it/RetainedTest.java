package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption.RetainedHandlingPolicy;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Retained messages: set, replace, clear, retain handling, retain as published, wildcards, $-topics. */
class RetainedTest extends BrokerTestBase {

    private static Set<String> topics(List<MqttMessage> packets) {
        Set<String> out = new TreeSet<>();
        for (MqttMessage m : packets) {
            MqttPublishMessage p = (MqttPublishMessage) m;
            assertTrue(p.fixedHeader().isRetain(), "retained message delivered at subscribe has RETAIN set");
            out.add(p.variableHeader().topicName() + "=" + Packets.text(p));
        }
        return out;
    }

    @Test
    void setReplaceClear() throws Exception {
        String t = "r/" + id("t");
        RawClient pub = v5("p");
        pub.retain(t, "one", 1);
        RawClient s1 = v311("s1");
        s1.subscribe(1, t, 1);
        MqttPublishMessage m = s1.expectPublish(t, "one");
        assertTrue(m.fixedHeader().isRetain());
        assertEquals(1, m.fixedHeader().qosLevel().value());

        pub.retain(t, "two", 2);
        RawClient s2 = v5("s2");
        s2.subscribe(1, t, 0);
        MqttPublishMessage m2 = s2.expectPublish(t, "two");
        assertTrue(m2.fixedHeader().isRetain());
        assertEquals(0, m2.fixedHeader().qosLevel().value(), "min(retained QoS, granted QoS)");
        assertTrue(s2.drainUntilPing().isEmpty(), "only the latest retained message");

        // s1 is subscribed: it receives "two" as a normal message (RETAIN 0 on an existing subscription)
        MqttPublishMessage live = s1.expectPublish(t, "two");
        assertFalse(live.fixedHeader().isRetain());
        s1.acknowledge(m);
        s1.acknowledge(live);

        pub.retain(t, "", 3); // clear
        MqttPublishMessage cleared = s1.expectPublish(t, "");
        assertFalse(cleared.fixedHeader().isRetain());
        s1.acknowledge(cleared);
        RawClient s3 = v5("s3");
        s3.subscribe(1, t, 1);
        assertTrue(s3.drainUntilPing().isEmpty(), "cleared retained message is gone");
        assertTrue(broker.retained(t).isEmpty());
    }

    @Test
    void retainHandling() throws Exception {
        String t = "rh/" + id("t");
        RawClient pub = v5("p");
        pub.retain(t, "kept", 1);
        RawClient sub = v5("s");

        MqttSubscriptionOption rh0 = new MqttSubscriptionOption(MqttQoS.AT_MOST_ONCE, false, false,
                RetainedHandlingPolicy.SEND_AT_SUBSCRIBE);
        sub.subscribe(1, null, t, rh0);
        sub.expectPublish(t, "kept");
        sub.subscribe(2, null, t, rh0);
        sub.expectPublish(t, "kept"); // 0: at every subscribe, also when the subscription existed

        RawClient sub1 = v5("s1");
        MqttSubscriptionOption rh1 = new MqttSubscriptionOption(MqttQoS.AT_MOST_ONCE, false, false,
                RetainedHandlingPolicy.SEND_AT_SUBSCRIBE_IF_NOT_YET_EXISTS);
        sub1.subscribe(1, null, t, rh1);
        sub1.expectPublish(t, "kept");
        sub1.subscribe(2, null, t, rh1);
        assertTrue(sub1.drainUntilPing().isEmpty(), "1: not for an existing subscription");

        RawClient sub2 = v5("s2");
        sub2.subscribe(1, null, t, new MqttSubscriptionOption(MqttQoS.AT_MOST_ONCE, false, false,
                RetainedHandlingPolicy.DONT_SEND_AT_SUBSCRIBE));
        assertTrue(sub2.drainUntilPing().isEmpty(), "2: never at subscribe");
    }

    @Test
    void retainAsPublished() throws Exception {
        String t = "rap/" + id("t");
        RawClient rap = v5("rap");
        rap.subscribe(1, null, t, new MqttSubscriptionOption(MqttQoS.AT_MOST_ONCE, false, true,
                RetainedHandlingPolicy.SEND_AT_SUBSCRIBE));
        RawClient plain = v5("plain");
        plain.subscribe(1, t, 0);
        RawClient pub = v5("p");
        pub.retain(t, "r", 1);
        pub.publish1(t, "n", 2);
        assertTrue(rap.expectPublish(t, "r").fixedHeader().isRetain());
        assertFalse(rap.expectPublish(t, "n").fixedHeader().isRetain());
        assertFalse(plain.expectPublish(t, "r").fixedHeader().isRetain());
        assertFalse(plain.expectPublish(t, "n").fixedHeader().isRetain());
        pub.retain(t, "", 3);
    }

    @Test
    void retainedOnWildcardSubscribe() throws Exception {
        String base = "w" + id("t");
        RawClient pub = v311("p");
        pub.retain(base + "/a", "1", 1);
        pub.retain(base + "/b", "2", 2);
        pub.retain(base + "/a/x", "3", 3);
        pub.retain(base, "0", 4);

        RawClient plus = v311("plus");
        plus.subscribe(1, base + "/+", 0);
        assertEquals(Set.of(base + "/a=1", base + "/b=2"), topics(plus.drainUntilPing()));

        RawClient hash = v5("hash");
        hash.subscribe(1, base + "/#", 0);
        assertEquals(Set.of(base + "=0", base + "/a=1", base + "/b=2", base + "/a/x=3"),
                topics(hash.drainUntilPing()), "# also matches the parent level");

        RawClient mid = v5("mid");
        mid.subscribe(1, "+/a/+", 0);
        assertEquals(Set.of(base + "/a/x=3"), topics(mid.drainUntilPing()));
    }

    @Test
    void dollarTopicsAreNotMatchedByLeadingWildcards() throws Exception {
        String t = "$it" + id("t") + "/x";
        RawClient pub = v5("p");
        pub.retain(t, "dollar", 1);
        RawClient all = v5("all");
        all.subscribe(1, "#", 0);
        RawClient plus = v5("plus");
        plus.subscribe(1, "+/x", 0);
        for (MqttMessage m : all.drainUntilPing()) {
            assertFalse(((MqttPublishMessage) m).variableHeader().topicName().startsWith("$"),
                    "# matched a $ topic");
        }
        for (MqttMessage m : plus.drainUntilPing()) {
            assertFalse(((MqttPublishMessage) m).variableHeader().topicName().startsWith("$"));
        }
        RawClient explicit = v5("exp");
        explicit.subscribe(1, "$it" + id("t") + "/#", 0);
        explicit.expectPublish(t, "dollar");
        // live messages too: a marker on a normal topic arrives, the $ message before it does not
        String marker = "m/" + id("t");
        pub.publish1(t, "live", 2);
        pub.publish1(marker, "marker", 3);
        MqttPublishMessage first = all.expectPublish();
        while (!first.variableHeader().topicName().equals(marker)) {
            assertFalse(first.variableHeader().topicName().startsWith("$"));
            first = all.expectPublish();
        }
        explicit.expectPublish(t, "live");
        pub.retain(t, "", 4);
    }
}
