package io.brokkr.api;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An application message as published by a client or by the broker itself. Immutable.
 *
 * @param topic           the topic name (never contains wildcards)
 * @param payload         the payload bytes (never null; callers must not modify the array)
 * @param qos             the QoS the message was published with (0, 1 or 2)
 * @param retain          the RETAIN flag as published
 * @param properties      MQTT 5 publication properties passed through to subscribers
 * @param publisherId     client id of the publisher, or null for broker-originated messages
 * @param timestamp       epoch millis at which the broker received the message
 */
public record Message(String topic, byte[] payload, int qos, boolean retain, MessageProperties properties,
                      String publisherId, long timestamp) {

    public Message {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(payload, "payload");
        if (qos < 0 || qos > 2) {
            throw new IllegalArgumentException("QoS must be 0, 1 or 2, was " + qos);
        }
        properties = properties == null ? MessageProperties.NONE : properties;
    }

    /** A broker-originated message with no properties. */
    public static Message of(String topic, byte[] payload, int qos, boolean retain) {
        return new Message(topic, payload, qos, retain, MessageProperties.NONE, null, System.currentTimeMillis());
    }

    public Message withTopic(String newTopic) {
        return new Message(newTopic, payload, qos, retain, properties, publisherId, timestamp);
    }

    public Message withPayload(byte[] newPayload) {
        return new Message(topic, newPayload, qos, retain, properties, publisherId, timestamp);
    }

    public Message withQos(int newQos) {
        return new Message(topic, payload, newQos, retain, properties, publisherId, timestamp);
    }

    public Message withRetain(boolean newRetain) {
        return new Message(topic, payload, qos, newRetain, properties, publisherId, timestamp);
    }

    public Message withProperties(MessageProperties newProperties) {
        return new Message(topic, payload, qos, retain, newProperties, publisherId, timestamp);
    }

    /** True if the message carries a Message Expiry Interval that has elapsed at {@code nowMillis}. */
    public boolean isExpired(long nowMillis) {
        return properties.messageExpiryInterval() != null
                && nowMillis >= timestamp + properties.messageExpiryInterval() * 1000L;
    }

    /** Remaining expiry interval in seconds at {@code nowMillis}, or null if the message does not expire. */
    public Long remainingExpiry(long nowMillis) {
        Long interval = properties.messageExpiryInterval();
        if (interval == null) {
            return null;
        }
        long remainingMillis = timestamp + interval * 1000L - nowMillis;
        return Math.max(0L, (remainingMillis + 999) / 1000);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Message m && qos == m.qos && retain == m.retain && timestamp == m.timestamp
                && topic.equals(m.topic) && Arrays.equals(payload, m.payload)
                && properties.equals(m.properties) && Objects.equals(publisherId, m.publisherId);
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, Arrays.hashCode(payload), qos, retain, properties, publisherId, timestamp);
    }

    @Override
    public String toString() {
        return "Message[topic=" + topic + ", qos=" + qos + ", retain=" + retain + ", bytes=" + payload.length
                + ", publisher=" + publisherId + "]";
    }

    /** Shorthand for the user properties. */
    public List<UserProperty> userProperties() {
        return properties.userProperties();
    }
}
