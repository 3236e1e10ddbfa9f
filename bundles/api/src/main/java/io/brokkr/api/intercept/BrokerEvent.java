package io.brokkr.api.intercept;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import java.time.Instant;
import java.util.Objects;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Something that happened in the broker, as a {@link MessageObserver} sees it. Immutable.
 *
 * <p>Every event has a {@link #type()}, a {@link #timestamp()} and the {@link #connection()} it is about (the
 * publisher for {@link Type#MESSAGE_RECEIVED}, the receiving subscriber for {@link Type#MESSAGE_SENT}). Message events
 * have the {@link #message()} (topic, payload, QoS, retain, MQTT 5 properties, sender client id, receive time) and the
 * sender's user name; {@link Type#MESSAGE_SENT} also the {@link #packetId()}. Subscription events have the topic
 * filter and QoS; {@link Type#DISCONNECTED} whether the client disconnected gracefully.
 */
@ProviderType
public final class BrokerEvent {

    /** The kinds of event. */
    public enum Type { CONNECTED, SUBSCRIBED, UNSUBSCRIBED, DISCONNECTED, MESSAGE_RECEIVED, MESSAGE_SENT }

    private final Type type;
    private final long timestamp;
    private final ConnectionContext connection;
    private final Message message;
    private final String senderUsername;
    private final int packetId;
    private final String topicFilter;
    private final int qos;
    private final boolean graceful;

    private BrokerEvent(Type type, long timestamp, ConnectionContext connection, Message message,
                        String senderUsername, int packetId, String topicFilter, int qos, boolean graceful) {
        this.type = Objects.requireNonNull(type, "type");
        this.timestamp = timestamp;
        this.connection = connection;
        this.message = message;
        this.senderUsername = senderUsername;
        this.packetId = packetId;
        this.topicFilter = topicFilter;
        this.qos = qos;
        this.graceful = graceful;
    }

    public static BrokerEvent connected(ConnectionContext connection) {
        return new BrokerEvent(Type.CONNECTED, System.currentTimeMillis(), connection, null, null, 0, null, 0, false);
    }

    public static BrokerEvent disconnected(ConnectionContext connection, boolean graceful) {
        return new BrokerEvent(Type.DISCONNECTED, System.currentTimeMillis(), connection, null, null, 0, null, 0,
                graceful);
    }

    public static BrokerEvent subscribed(ConnectionContext connection, String topicFilter, int qos) {
        return new BrokerEvent(Type.SUBSCRIBED, System.currentTimeMillis(), connection, null, null, 0, topicFilter,
                qos, false);
    }

    public static BrokerEvent unsubscribed(ConnectionContext connection, String topicFilter) {
        return new BrokerEvent(Type.UNSUBSCRIBED, System.currentTimeMillis(), connection, null, null, 0, topicFilter,
                0, false);
    }

    /** A message received from a publisher (null connection: published through {@code BrokerService}). */
    public static BrokerEvent received(ConnectionContext publisher, Message message) {
        return new BrokerEvent(Type.MESSAGE_RECEIVED, message.timestamp(), publisher, message,
                publisher == null ? null : publisher.username(), 0, null, message.qos(), false);
    }

    /** A message written to a subscriber's connection (packet id 0 for QoS 0). */
    public static BrokerEvent sent(ConnectionContext subscriber, Message message, String senderUsername,
                                   int packetId) {
        return new BrokerEvent(Type.MESSAGE_SENT, System.currentTimeMillis(), subscriber, message, senderUsername,
                packetId, null, message.qos(), false);
    }

    public Type type() {
        return type;
    }

    /** When it happened, epoch milliseconds (for MESSAGE_RECEIVED: when the broker received the message). */
    public long timestamp() {
        return timestamp;
    }

    /** {@link #timestamp()} as ISO-8601 UTC, e.g. {@code 2026-11-29T23:59:01.123Z}. */
    public String datetime() {
        return Instant.ofEpochMilli(timestamp).toString();
    }

    /** The connection the event is about; null for a message published through {@code BrokerService}. */
    public ConnectionContext connection() {
        return connection;
    }

    /** Client id of {@link #connection()} (the receiving client for MESSAGE_SENT), or null. */
    public String clientId() {
        return connection == null ? null : connection.clientId();
    }

    /** User name of {@link #connection()}, or null. */
    public String username() {
        return connection == null ? null : connection.username();
    }

    /** The message of MESSAGE_RECEIVED and MESSAGE_SENT (QoS as published for RECEIVED, as delivered for SENT). */
    public Message message() {
        return message;
    }

    /** The publisher's client id for message events, or null for broker-originated messages. */
    public String senderClientId() {
        return message == null ? null : message.publisherId();
    }

    /** The publisher's user name for message events, or null. */
    public String senderUsername() {
        return senderUsername;
    }

    /** Packet identifier of a MESSAGE_SENT at QoS 1/2, else 0. */
    public int packetId() {
        return packetId;
    }

    /** Topic filter of SUBSCRIBED / UNSUBSCRIBED, else null. */
    public String topicFilter() {
        return topicFilter;
    }

    /** QoS: granted (SUBSCRIBED), of the message (message events), else 0. */
    public int qos() {
        return qos;
    }

    /** DISCONNECTED: true if the client sent DISCONNECT (without will). */
    public boolean graceful() {
        return graceful;
    }

    @Override
    public String toString() {
        return "BrokerEvent[" + type + ", client=" + clientId() + (message == null ? "" : ", " + message)
                + (topicFilter == null ? "" : ", filter=" + topicFilter) + "]";
    }
}
