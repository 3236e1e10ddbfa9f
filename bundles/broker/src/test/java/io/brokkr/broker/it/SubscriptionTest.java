package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption.RetainedHandlingPolicy;
import io.netty.handler.codec.mqtt.MqttUnsubAckMessage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Shared subscriptions, overlapping subscriptions, subscription identifiers, no local, unsubscribe. */
class SubscriptionTest extends BrokerTestBase {

    private static MqttSubscriptionOption opt(int qos, boolean noLocal) {
        return new MqttSubscriptionOption(MqttQoS.valueOf(qos), noLocal, false, RetainedHandlingPolicy.SEND_AT_SUBSCRIBE);
    }

    private static List<String> payloads(List<MqttMessage> packets) {
        List<String> out = new ArrayList<>();
        for (MqttMessage m : packets) {
            out.add(Packets.text((MqttPublishMessage) m));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ shared

    @Test
    void sharedSubscriptionSpreadsMessagesOncePerGroup() throws Exception {
        String f = "sh/" + id("t") + "/+";
        RawClient a = v5("a");
        RawClient b = v311("b");
        RawClient other = v5("o");
        RawClient plain = v5("plain");
        a.subscribe(1, "$share/g/" + f, 0);
        b.subscribe(1, "$share/g/" + f, 0);
        other.subscribe(1, "$share/h/" + f, 0);
        plain.subscribe(1, f, 0);
        RawClient pub = v5("p");
        String topic = f.replace("+", "x");
        int n = 20;
        for (int i = 0; i < n; i++) {
            pub.publish1(topic, "m" + i, 1 + i);
        }
        List<String> ga = payloads(receivedBefore(a, pub));
        List<String> gb = payloads(receivedBefore(b, pub));
        assertFalse(ga.isEmpty(), "member a got nothing");
        assertFalse(gb.isEmpty(), "member b got nothing");
        Set<String> union = new HashSet<>(ga);
        union.addAll(gb);
        assertEquals(n, ga.size() + gb.size(), "each message to exactly one member: a=" + ga + " b=" + gb);
        assertEquals(n, union.size());
        assertEquals(n, payloads(receivedBefore(other, pub)).size(), "the other group gets every message");
        assertEquals(n, payloads(receivedBefore(plain, pub)).size(), "a non-shared subscriber gets every message");

        // a member that unsubscribes gets nothing more; the rest of the group gets everything
        MqttUnsubAckMessage ack = unsubscribe(b, 9, "$share/g/" + f);
        assertEquals(9, ack.variableHeader().messageId());
        for (int i = 0; i < 4; i++) {
            pub.publish1(topic, "n" + i, 50 + i);
        }
        assertEquals(List.of("n0", "n1", "n2", "n3"), payloads(receivedBefore(a, pub)));
        assertTrue(receivedBefore(b, pub).isEmpty());
    }

    private MqttUnsubAckMessage unsubscribe(RawClient c, int packetId, String filter) throws Exception {
        c.send(MqttMessageBuilders.unsubscribe().messageId(packetId).addTopicFilter(filter).build());
        return (MqttUnsubAckMessage) c.expect(MqttMessageType.UNSUBACK);
    }

    @Test
    void sharedQos1MessagesGoToOnlineMembers() throws Exception {
        String f = "sh1/" + id("t");
        RawClient a = v5("a");
        a.subscribe(1, "$share/g/" + f, 1);
        RawClient b = connect(Packets.connect5(id("b"), true, 300));
        b.subscribe(1, "$share/g/" + f, 1);
        b.disconnect();
        awaitOffline(id("b"));
        RawClient pub = v5("p");
        for (int i = 0; i < 6; i++) {
            pub.publish1(f, "m" + i, 1 + i);
        }
        List<MqttMessage> got = receivedBefore(a, pub);
        assertEquals(6, got.size(), "an offline member does not take the group's messages");
    }

    // ------------------------------------------------------------------------------------------ shared: nothing lost

    /** Takes {@code n} PUBLISHes (waiting for each), acknowledges QoS 1 ones and returns their payloads. */
    private static List<String> take(RawClient c, int n) throws Exception {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            MqttPublishMessage p = c.expectPublish();
            out.add(Packets.text(p));
            c.acknowledge(p);
        }
        return out;
    }

    /** Publishes QoS 1 messages p0..p(n-1) on the topic. */
    private static List<String> publishAll(RawClient pub, String topic, String prefix, int n) throws Exception {
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pub.publish1(topic, prefix + i, 100 + i);
            sent.add(prefix + i);
        }
        return sent;
    }

    @Test
    void queuedMessagesOfAnExpiredMemberGoToAnotherMember() throws Exception {
        String f = "shx/" + id("t");
        RawClient a = v5Persistent("a", 2, true);
        a.subscribe(1, "$share/g/" + f, 1);
        a.disconnect();
        awaitOffline(id("a"));
        RawClient pub = v5("p");
        List<String> sent = publishAll(pub, f, "m", 5); // a is the only member: queued in its session
        RawClient b = v5("b");
        b.subscribe(1, "$share/g/" + f, 1);
        awaitSessionGone(id("a"), 10_000); // a's session expires: its queue goes to b
        assertEquals(sent, take(b, 5));
        assertTrue(receivedBefore(b, pub).isEmpty(), "each message once");
        // the group goes on with b alone
        assertEquals(List.of("n0"), take(b, publishAll(pub, f, "n", 1).size()));
    }

    @Test
    void queuedMessagesOfARemovedMemberGoToAnotherMember() throws Exception {
        String f = "shk/" + id("t");
        RawClient a = v5Persistent("a", 300, true);
        a.subscribe(1, "$share/g/" + f, 1);
        a.disconnect();
        awaitOffline(id("a"));
        RawClient pub = v5("p");
        List<String> sent = publishAll(pub, f, "m", 4);
        RawClient b = v311("b");
        b.subscribe(1, "$share/g/" + f, 1);
        RawClient plain = v5("plain");
        plain.subscribe(1, f, 1);
        assertTrue(broker.kick(id("a"), true));
        assertEquals(sent, take(b, 4));
        assertTrue(receivedBefore(b, pub).isEmpty(), "each message once");
        assertTrue(receivedBefore(plain, pub).isEmpty(), "only the group's members get them");
    }

    @Test
    void unacknowledgedMessagesOfAMemberWhoseSessionEndsGoToAnotherMember() throws Exception {
        String f = "shi/" + id("t");
        RawClient a = v5("a"); // session expiry 0: ends with the connection
        a.subscribe(1, "$share/g/" + f, 1);
        RawClient pub = v5("p");
        List<String> sent = publishAll(pub, f, "m", 3);
        List<MqttMessage> got = receivedBefore(a, pub);
        assertEquals(sent, payloads(got), "a is the only member");
        // a never acknowledges them; b joins; then a's connection (and session) ends
        RawClient b = v5("b");
        b.subscribe(1, "$share/g/" + f, 1);
        a.drop();
        List<String> redelivered = take(b, 3);
        assertEquals(sent, redelivered);
        assertTrue(receivedBefore(b, pub).isEmpty(), "each message once");
    }

    @Test
    void unacknowledgedMessagesGoToAnotherMemberOnCleanStartTakeover() throws Exception {
        String f = "sht/" + id("t");
        RawClient a = v5Persistent("a", 300, true);
        a.subscribe(1, "$share/g/" + f, 1);
        RawClient pub = v5("p");
        List<String> sent = publishAll(pub, f, "m", 3);
        assertEquals(sent, payloads(receivedBefore(a, pub)));
        RawClient b = v5("b");
        b.subscribe(1, "$share/g/" + f, 1);
        // a reconnects with Clean Start: its old session (and the unacknowledged messages) end
        RawClient a2 = v5Persistent("a", 300, true);
        assertEquals(sent, take(b, 3));
        assertTrue(receivedBefore(b, pub).isEmpty(), "each message once");
        assertTrue(receivedBefore(a2, pub).isEmpty(), "the new session of a gets nothing");
    }

    @Test
    void queuedMessagesOfAnUnsubscribingMemberGoToAnotherMember() throws Exception {
        String f = "shu/" + id("t");
        RawClient a = connect(Packets.connect(io.netty.handler.codec.mqtt.MqttVersion.MQTT_5, id("a"), true, 10,
                Packets.props(MqttPropertyType.RECEIVE_MAXIMUM, 1)));
        a.subscribe(1, "$share/g/" + f, 1);
        RawClient pub = v5("p");
        List<String> sent = publishAll(pub, f, "m", 4);
        MqttPublishMessage first = a.expectPublish(f, "m0"); // m1..m3 wait behind a's Receive Maximum of 1
        RawClient b = v5("b");
        b.subscribe(1, "$share/g/" + f, 1);
        assertEquals(9, unsubscribe(a, 9, "$share/g/" + f).variableHeader().messageId());
        assertEquals(sent.subList(1, 4), take(b, 3), "the queued messages go to b");
        a.acknowledge(first); // the one in flight stays with a
        assertTrue(receivedBefore(a, pub).isEmpty(), "a gets nothing more");
        assertTrue(receivedBefore(b, pub).isEmpty(), "each message once");
    }

    @Test
    void messagesOfTheLastMemberAreDroppedWithoutErrors() throws Exception {
        String f = "shd/" + id("t");
        RawClient a = v5Persistent("a", 300, true);
        a.subscribe(1, "$share/g/" + f, 1);
        a.disconnect();
        awaitOffline(id("a"));
        RawClient pub = v5("p");
        long dropped = broker.stats().messagesDropped();
        publishAll(pub, f, "m", 3);
        assertTrue(broker.kick(id("a"), true));
        awaitSessionGone(id("a"), RawClient.TIMEOUT_MS);
        assertEquals(dropped + 3, broker.stats().messagesDropped(), "counted as dropped");
        // the broker goes on: a new member gets new messages only
        RawClient b = v5("b");
        b.subscribe(1, "$share/g/" + f, 1);
        publishAll(pub, f, "n", 1);
        assertEquals(List.of("n0"), take(b, 1));
        assertTrue(receivedBefore(b, pub).isEmpty());
    }

    @Test
    void retainedMessagesAreNotSentForSharedSubscriptions() throws Exception {
        String f = "shr/" + id("t");
        RawClient pub = v5("p");
        pub.retain(f, "r", 1);
        RawClient a = v5("a");
        a.subscribe(1, "$share/g/" + f, 1);
        assertTrue(receivedBefore(a, pub).isEmpty());
        pub.retain(f, "", 2);
    }

    @Test
    void noLocalOnSharedSubscriptionIsAProtocolError() throws Exception {
        RawClient a = v5("a");
        a.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription("$share/g/x", opt(1, true)).build());
        assertEquals(0x82, a.expectDisconnect());
    }

    @Test
    void invalidSharedFiltersAreRefused() throws Exception {
        RawClient a = v5("a");
        assertEquals(List.of(0x8F), RawClient.codes(a.subscribe(1, "$share/g", 0)));
        assertEquals(List.of(0x8F), RawClient.codes(a.subscribe(2, "$share/g+/x", 0)));
        assertEquals(List.of(0x8F), RawClient.codes(a.subscribe(3, "$share//x", 0)));
    }

    // ------------------------------------------------------------------------------------------ overlapping

    @Test
    void overlappingSubscriptionsGiveOneCopyAtHighestQosWithAllIdentifiers() throws Exception {
        String base = "ov/" + id("t");
        RawClient s = v5("s");
        s.subscribe(1, Packets.props(MqttPropertyType.SUBSCRIPTION_IDENTIFIER, 11), base + "/#", opt(0, false));
        s.subscribe(2, Packets.props(MqttPropertyType.SUBSCRIPTION_IDENTIFIER, 22), base + "/+", opt(2, false));
        s.subscribe(3, null, base + "/x", opt(1, false));
        RawClient pub = v5("p");
        pub.publish2(base + "/x", "hello", 1);
        MqttPublishMessage p = s.expectPublish(base + "/x", "hello");
        assertEquals(2, p.fixedHeader().qosLevel().value());
        assertEquals(Set.of(11, 22), new HashSet<>(Packets.intProps(p.variableHeader().properties(),
                MqttPropertyType.SUBSCRIPTION_IDENTIFIER)));
        s.acknowledge(p);
        assertTrue(receivedBefore(s, pub).isEmpty(), "one copy only");
    }

    @Test
    void overlappingSubscriptionsV311() throws Exception {
        String base = "ov3/" + id("t");
        RawClient s = v311("s");
        s.subscribe(1, base + "/#", 1);
        s.subscribe(2, "+/" + base.substring(base.indexOf('/') + 1) + "/x", 0);
        RawClient pub = v311("p");
        pub.publish2(base + "/x", "hello", 1);
        MqttPublishMessage p = s.expectPublish(base + "/x", "hello");
        assertEquals(1, p.fixedHeader().qosLevel().value());
        s.acknowledge(p);
        assertTrue(receivedBefore(s, pub).isEmpty(), "one copy only");
    }

    // ------------------------------------------------------------------------------------------ identifiers

    @Test
    void subscriptionIdentifiers() throws Exception {
        String t = "sid/" + id("t");
        RawClient pub = v5("p");
        pub.retain(t, "retained", 1);
        RawClient s = v5("s");
        s.subscribe(1, Packets.props(MqttPropertyType.SUBSCRIPTION_IDENTIFIER, 300), t, opt(1, false));
        MqttPublishMessage r = s.expectPublish(t, "retained");
        assertEquals(List.of(300), Packets.intProps(r.variableHeader().properties(),
                MqttPropertyType.SUBSCRIPTION_IDENTIFIER), "retained message carries the identifier");
        s.acknowledge(r);
        pub.publish1(t, "live", 2);
        MqttPublishMessage l = s.expectPublish(t, "live");
        assertEquals(List.of(300), Packets.intProps(l.variableHeader().properties(),
                MqttPropertyType.SUBSCRIPTION_IDENTIFIER));
        s.acknowledge(l);
        // re-subscribing replaces the subscription and its identifier
        s.subscribe(2, null, t, new MqttSubscriptionOption(MqttQoS.AT_LEAST_ONCE, false, false,
                RetainedHandlingPolicy.DONT_SEND_AT_SUBSCRIBE));
        pub.publish1(t, "again", 3);
        MqttPublishMessage a = s.expectPublish(t, "again");
        assertTrue(Packets.intProps(a.variableHeader().properties(), MqttPropertyType.SUBSCRIPTION_IDENTIFIER)
                .isEmpty());
        s.acknowledge(a);
        pub.retain(t, "", 4);
    }

    @Test
    void subscriptionIdentifierZeroIsAProtocolError() throws Exception {
        RawClient s = v5("s");
        s.send(MqttMessageBuilders.subscribe().messageId(1)
                .properties(Packets.props(MqttPropertyType.SUBSCRIPTION_IDENTIFIER, 0))
                .addSubscription("x", opt(0, false)).build());
        assertEquals(0x82, s.expectDisconnect());
    }

    // ------------------------------------------------------------------------------------------ no local

    @Test
    void noLocal() throws Exception {
        String t = "nl/" + id("t");
        RawClient me = v5("me");
        me.subscribe(1, null, t, opt(1, true));
        RawClient echo = v5("echo");
        echo.subscribe(1, null, t, opt(1, false));
        me.publish1(t, "mine", 1);
        MqttPublishMessage e1 = echo.expectPublish(t, "mine");
        echo.acknowledge(e1);
        echo.publish(t, 1, 2, "yours");
        // its PUBACK (sent once every target took the message) and its own message (no local not set), either order
        List<MqttMessage> echoed = List.of(echo.poll(RawClient.TIMEOUT_MS), echo.poll(RawClient.TIMEOUT_MS));
        assertTrue(echoed.stream().anyMatch(m -> m.fixedHeader().messageType() == MqttMessageType.PUBACK));
        assertTrue(echoed.stream().anyMatch(m -> m instanceof MqttPublishMessage pm
                && Packets.text(pm).equals("yours")));
        MqttPublishMessage p = me.expectPublish(t, "yours");
        me.acknowledge(p);
        // me's own message would have been written on me's own event loop before its PUBACK, so the PINGREQ fence
        // suffices here (and "yours", published later by echo, came first)
        assertTrue(me.drainUntilPing().isEmpty(), "own message delivered despite no local");
    }

    // ------------------------------------------------------------------------------------------ unsubscribe

    @Test
    void unsubscribe() throws Exception {
        String t = "un/" + id("t");
        RawClient s = v5("s");
        s.subscribe(1, t, 0);
        MqttUnsubAckMessage ack = unsubscribe(s, 2, t);
        assertEquals(List.of((short) 0), ack.payload().unsubscribeReasonCodes());
        MqttUnsubAckMessage again = unsubscribe(s, 3, t);
        assertEquals(List.of((short) 0x11), again.payload().unsubscribeReasonCodes(), "no subscription existed");
        MqttUnsubAckMessage invalid = unsubscribe(s, 4, "a/#/b");
        assertEquals(List.of((short) 0x8F), invalid.payload().unsubscribeReasonCodes(), "topic filter invalid");
        RawClient pub = v5("p");
        pub.publish1(t, "x", 1);
        assertTrue(receivedBefore(s, pub).isEmpty());

        RawClient v3 = v311("v3");
        v3.subscribe(1, t, 0);
        MqttUnsubAckMessage a3 = unsubscribe(v3, 7, t);
        assertEquals(7, a3.variableHeader().messageId());
        pub.publish1(t, "y", 2);
        assertTrue(receivedBefore(v3, pub).isEmpty());
    }

    @Test
    void multipleFiltersInOneSubscribe() throws Exception {
        RawClient s = v5("s");
        s.send(MqttMessageBuilders.subscribe().messageId(5).addSubscription(MqttQoS.AT_MOST_ONCE, "a/" + id("t"))
                .addSubscription(MqttQoS.EXACTLY_ONCE, "b/" + id("t")).addSubscription(MqttQoS.AT_LEAST_ONCE, "c/#/x")
                .build());
        var ack = (io.netty.handler.codec.mqtt.MqttSubAckMessage) s.expect(MqttMessageType.SUBACK);
        assertEquals(List.of(0, 2, 0x8F), RawClient.codes(ack));
    }
}
