package io.brokkr.api;

/**
 * Broker counters, as also published on {@code $SYS/broker/...}.
 *
 * <p>The last three count the back-pressure of "Inside the engine" (README): {@code publisherPauses} how many times
 * the broker stopped reading a publisher because the targets of its messages were congested,
 * {@code publisherPausesExtended} how many times a pause went on for another 500 ms because the slow target that
 * began it was still making progress, {@code publisherPausesCapped} how many pauses the safety net ended (their
 * target made no progress for 500 ms, or the pause reached its longest, 5 s). Since 2.4.</p>
 */
public record BrokerStats(String version, long uptimeSeconds, int clientsConnected, int clientsDisconnected,
                          long clientsMaximum, long messagesReceived, long messagesSent, long messagesDropped,
                          long publishReceived, long publishSent, long bytesReceived, long bytesSent,
                          int subscriptions, int retainedMessages, long storedMessages, long publisherPauses,
                          long publisherPausesExtended, long publisherPausesCapped) {

    /** The counters of API 2.0 to 2.3, with the pause counters 0. */
    public BrokerStats(String version, long uptimeSeconds, int clientsConnected, int clientsDisconnected,
                       long clientsMaximum, long messagesReceived, long messagesSent, long messagesDropped,
                       long publishReceived, long publishSent, long bytesReceived, long bytesSent,
                       int subscriptions, int retainedMessages, long storedMessages) {
        this(version, uptimeSeconds, clientsConnected, clientsDisconnected, clientsMaximum, messagesReceived,
                messagesSent, messagesDropped, publishReceived, publishSent, bytesReceived, bytesSent, subscriptions,
                retainedMessages, storedMessages, 0, 0, 0);
    }
}
