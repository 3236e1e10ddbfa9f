package io.brokkr.broker.session;

import io.brokkr.api.Message;
import io.brokkr.broker.topic.Subscription;

/**
 * One message to be delivered to one session.
 *
 * @param message         the message
 * @param qos             delivery QoS (min of publish QoS and granted QoS)
 * @param retain          RETAIN flag to send
 * @param subscriptionIds MQTT 5 subscription identifiers to attach (may be empty)
 * @param shared          the shared subscription (of the receiving session) the message was chosen for, or null:
 *                        if that session ends before the message is acknowledged, it goes to another member of the
 *                        group (see {@link SessionHost#redispatchShared})
 * @param hops            how many times the message has already been handed from one member to another
 */
public record Delivery(Message message, int qos, boolean retain, int[] subscriptionIds, Subscription shared, int hops) {
    public static final int[] NO_IDS = new int[0];

    public Delivery(Message message, int qos, boolean retain, int[] subscriptionIds) {
        this(message, qos, retain, subscriptionIds, null, 0);
    }
}
