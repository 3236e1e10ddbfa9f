package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.api.SessionInfo;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubscriptionOption;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Retained messages sent after a SUBSCRIBE are paced by the socket's writability and the inflight window: any number
 * of them reaches a new subscriber, none dropped, none counted against {@code max.queued.messages} (left at its
 * default, 1000), and an UNSUBSCRIBE or a newer message on a topic stops what is still pending.
 */
class RetainedDeliveryTest extends BrokerTestBase {

    private static final byte[] PAYLOAD = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);

    private void retainMany(String prefix, int n, int qos) {
        for (int i = 0; i < n; i++) {
            broker.publish(Message.of(prefix + "/" + i, PAYLOAD, qos, true));
        }
    }

    private Set<String> retainedTopics(String filter) {
        Set<String> out = new HashSet<>();
        for (Message m : broker.retained(filter)) {
            out.add(m.topic());
        }
        return out;
    }

    private SessionInfo session(String clientId) {
        return broker.sessions().stream().filter(s -> s.clientId().equals(clientId)).findFirst().orElseThrow();
    }

    /** Takes PUBLISHes until {@code expected} topics arrived (acknowledging QoS 1 ones); fails on a 5 s silence. */
    private static Set<String> receiveAll(RawClient c, Set<String> expected) throws InterruptedException {
        Set<String> got = new HashSet<>();
        int packets = 0;
        while (got.size() < expected.size()) {
            MqttMessage m = c.poll(RawClient.TIMEOUT_MS);
            assertNotNull(m, "only " + got.size() + " of " + expected.size() + " retained messages arrived");
            MqttPublishMessage p = (MqttPublishMessage) m;
            assertTrue(p.fixedHeader().isRetain(), "retain flag of a retained message sent after SUBSCRIBE");
            if (p.fixedHeader().qosLevel().value() == 1) {
                c.ack(MqttMessageType.PUBACK, p.variableHeader().packetId());
            }
            assertTrue(got.add(p.variableHeader().topicName()), "twice: " + p.variableHeader().topicName());
            packets++;
        }
        assertEquals(expected.size(), packets);
        return got;
    }

    @Test
    void hundredThousandQos0RetainedReachANewHashSubscriber() throws Exception {
        retainMany("big0", 100_000, 0);
        Set<String> expected = retainedTopics("#");
        assertTrue(expected.size() >= 100_000);
        long dropped = broker.stats().messagesDropped();
        RawClient sub = v311("sub");
        sub.subscribe(1, "#", 0);
        assertEquals(expected, receiveAll(sub, expected));
        assertEquals(0, sub.drainUntilPing().size(), "nothing more than the retained messages");
        assertEquals(dropped, broker.stats().messagesDropped(), "no message dropped");
    }

    @Test
    void sixtyThousandQos0RetainedReachAnMqtt5SubscriberWithItsSubscriptionId() throws Exception {
        retainMany("big5", 60_000, 0);
        Set<String> expected = retainedTopics("big5/#");
        long dropped = broker.stats().messagesDropped();
        RawClient sub = v5("sub");
        sub.subscribe(1, Packets.props(MqttPropertyType.SUBSCRIPTION_IDENTIFIER, 7), "big5/#",
                MqttSubscriptionOption.onlyFromQos(MqttQoS.AT_MOST_ONCE));
        Set<String> got = new HashSet<>();
        while (got.size() < expected.size()) {
            MqttPublishMessage p = (MqttPublishMessage) sub.poll(RawClient.TIMEOUT_MS);
            assertNotNull(p, "only " + got.size() + " of " + expected.size() + " retained messages arrived");
            assertEquals(List.of(7), Packets.intProps(p.variableHeader().properties(),
                    MqttPropertyType.SUBSCRIPTION_IDENTIFIER));
            assertTrue(got.add(p.variableHeader().topicName()));
        }
        assertEquals(expected, got);
        assertEquals(0, sub.drainUntilPing().size());
        assertEquals(dropped, broker.stats().messagesDropped(), "no message dropped");
    }

    @Test
    void pendingRetainedContinueWhenAPersistentSessionResumes() throws Exception {
        retainMany("res", 100, 1);
        RawClient sub = v5Persistent("sub", 60, true);
        sub.subscribe(1, "res/#", 1);
        int window = broker.config().maxInflight();
        assertEquals(window, sub.drainUntilPing().size()); // not acknowledged
        sub.close();
        awaitOffline(id("sub"));
        RawClient again = v5Persistent("sub", 60, false);
        Set<String> got = new HashSet<>();
        while (got.size() < 100) {
            MqttPublishMessage p = (MqttPublishMessage) again.poll(RawClient.TIMEOUT_MS);
            assertNotNull(p, "only " + got.size() + " of 100 retained messages arrived after the resume");
            again.ack(MqttMessageType.PUBACK, p.variableHeader().packetId());
            got.add(p.variableHeader().topicName());
        }
        assertEquals(retainedTopics("res/#"), got);
        assertEquals(0, again.drainUntilPing().size());
    }

    @Test
    void twentyThousandQos1RetainedAreNotLimitedByTheQueue() throws Exception {
        retainMany("big1", 20_000, 1);
        Set<String> expected = retainedTopics("big1/#");
        long dropped = broker.stats().messagesDropped();
        RawClient sub = v311("sub");
        sub.subscribe(1, "big1/#", 1);
        assertEquals(expected, receiveAll(sub, expected));
        assertEquals(0, sub.drainUntilPing().size());
        assertEquals(dropped, broker.stats().messagesDropped(), "no message dropped");
    }

    @Test
    void unsubscribeStopsPendingRetainedAndTheyDoNotCountAsQueued() throws Exception {
        retainMany("uns", 5_000, 1);
        RawClient sub = v311("sub");
        sub.subscribe(1, "uns/#", 1);
        int window = broker.config().maxInflight();
        List<MqttMessage> first = sub.drainUntilPing(); // only the inflight window, the rest waits for acks
        assertEquals(window, first.size());
        assertEquals(0, session(id("sub")).queued(), "pending retained messages are not queued messages");
        sub.send(MqttMessageBuilders.unsubscribe().messageId(2).addTopicFilter("uns/#").build());
        sub.expect(MqttMessageType.UNSUBACK);
        for (MqttMessage m : first) {
            sub.ack(MqttMessageType.PUBACK, ((MqttPublishMessage) m).variableHeader().packetId());
        }
        assertEquals(0, sub.drainUntilPing().size(), "no retained message after UNSUBSCRIBE");
        sub.subscribe(3, "uns/#", 1); // subscribing again starts over
        assertEquals(window, sub.drainUntilPing().size());
    }

    @Test
    void aRetainedMessageReplacedWhilePendingIsNotSentAfterTheNewerOne() throws Exception {
        retainMany("rep", 100, 1);
        RawClient sub = v311("sub");
        RawClient pub = v311("pub");
        sub.subscribe(1, "rep/#", 1);
        int window = broker.config().maxInflight();
        List<MqttMessage> first = sub.drainUntilPing();
        assertEquals(window, first.size());
        Set<String> sent = new HashSet<>();
        for (MqttMessage m : first) {
            sent.add(((MqttPublishMessage) m).variableHeader().topicName());
        }
        String pending = null; // a topic whose retained message is not sent yet
        for (int i = 0; pending == null; i++) {
            pending = sent.contains("rep/" + i) ? null : "rep/" + i;
        }
        pub.retain(pending, "newer", 1); // routed live to the subscriber, behind its full window
        for (MqttMessage m : first) {
            sub.ack(MqttMessageType.PUBACK, ((MqttPublishMessage) m).variableHeader().packetId());
        }
        int onPending = 0;
        int total = first.size();
        while (total < 100) {
            MqttPublishMessage p = sub.expectPublish();
            sub.ack(MqttMessageType.PUBACK, p.variableHeader().packetId());
            total++;
            if (p.variableHeader().topicName().equals(pending)) {
                onPending++;
                assertEquals("newer", Packets.text(p), "the older retained message is not sent after the newer");
            }
        }
        assertEquals(1, onPending);
        assertEquals(0, sub.drainUntilPing().size());
    }
}
