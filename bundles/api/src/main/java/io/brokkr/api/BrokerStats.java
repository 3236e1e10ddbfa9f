package io.brokkr.api;

/**
 * Broker counters, as also published on {@code $SYS/broker/...}.
 */
public record BrokerStats(String version, long uptimeSeconds, int clientsConnected, int clientsDisconnected,
                          long clientsMaximum, long messagesReceived, long messagesSent, long messagesDropped,
                          long publishReceived, long publishSent, long bytesReceived, long bytesSent,
                          int subscriptions, int retainedMessages, long storedMessages) {
}
