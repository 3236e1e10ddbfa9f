package io.brokkr.api.intercept;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.SubscriptionInfo;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Hooks into the life of connections and messages. Register implementations as OSGi services; they are called
 * in descending {@code service.ranking} order, on network threads, and must not block. An exception thrown by an
 * interceptor is logged and otherwise ignored (the message continues as if the interceptor returned it unchanged).
 *
 * <p>Every call for one connection gets the same {@link ConnectionContext} object, the one its authenticator and
 * authorizers saw (with their principal and attributes).
 */
@ConsumerType
public interface MessageInterceptor {

    /** A client completed CONNECT successfully. */
    default void onConnect(ConnectionContext context) {
    }

    /** A subscription was granted. */
    default void onSubscribe(ConnectionContext context, SubscriptionInfo subscription) {
    }

    /** A subscription was removed by UNSUBSCRIBE. */
    default void onUnsubscribe(ConnectionContext context, String topicFilter) {
    }

    /**
     * A PUBLISH was received and authorized, before routing. Return the message (possibly modified, e.g. a new
     * payload or topic) to route it, or null to drop it silently (the publisher still gets its acknowledgement).
     *
     * @param publisher the publisher's connection (for a will: the connection that set it, also when the will is
     *                  published after that connection closed), or null for messages published through
     *                  {@code BrokerService.publish}
     */
    default Message onMessageReceived(ConnectionContext publisher, Message message) {
        return message;
    }

    /**
     * A message was written to a subscriber's connection (for QoS 1/2: sent, not yet acknowledged).
     *
     * @param subscriber the subscriber's connection
     */
    default void onMessageDelivered(ConnectionContext subscriber, Message message) {
    }

    /**
     * A connection closed.
     *
     * @param graceful true if the client sent DISCONNECT (without "disconnect with will")
     */
    default void onDisconnect(ConnectionContext context, boolean graceful) {
    }
}
