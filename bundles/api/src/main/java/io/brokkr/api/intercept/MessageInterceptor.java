package io.brokkr.api.intercept;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.Message;
import io.brokkr.api.SubscriptionInfo;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Hooks into the life of connections and messages. Register implementations as OSGi services; they are called
 * in descending {@code service.ranking} order, on network threads, and must not block. An exception thrown by an
 * interceptor is logged and otherwise ignored (the message continues as if the interceptor returned it unchanged).
 */
@ConsumerType
public interface MessageInterceptor {

    /** A client completed CONNECT successfully. */
    default void onConnect(ClientInfo client) {
    }

    /** A subscription was granted. */
    default void onSubscribe(ClientInfo client, SubscriptionInfo subscription) {
    }

    /**
     * A PUBLISH was received and authorized, before routing. Return the message (possibly modified, e.g. a new
     * payload or topic) to route it, or null to drop it silently (the publisher still gets its acknowledgement).
     *
     * @param client the publisher, or null for messages published through {@code BrokerService.publish}
     */
    default Message onMessageReceived(ClientInfo client, Message message) {
        return message;
    }

    /** A message was written to a subscriber's connection (for QoS 1/2: sent, not yet acknowledged). */
    default void onMessageDelivered(String clientId, Message message) {
    }

    /**
     * A connection closed.
     *
     * @param graceful true if the client sent DISCONNECT (without "disconnect with will")
     */
    default void onDisconnect(ClientInfo client, boolean graceful) {
    }
}
