package io.brokkr.broker;

import io.brokkr.api.Message;

/**
 * One message to be delivered to one session.
 *
 * @param message         the message
 * @param qos             delivery QoS (min of publish QoS and granted QoS)
 * @param retain          RETAIN flag to send
 * @param subscriptionIds MQTT 5 subscription identifiers to attach (may be empty)
 */
record Delivery(Message message, int qos, boolean retain, int[] subscriptionIds) {
    static final int[] NO_IDS = new int[0];
}
