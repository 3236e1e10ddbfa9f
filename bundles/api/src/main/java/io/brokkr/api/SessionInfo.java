package io.brokkr.api;

/**
 * A snapshot of a session (connected or not).
 *
 * @param clientId          the client identifier
 * @param connected         whether a network connection is attached
 * @param protocolVersion   protocol of the last connection
 * @param expiryInterval    session expiry interval in seconds ({@code 0xFFFFFFFFL} = never)
 * @param subscriptions     number of subscriptions
 * @param inflight          outbound QoS 1/2 messages awaiting acknowledgement
 * @param queued            messages queued for delivery (offline queue or over the inflight window)
 * @param disconnectedAt    epoch millis of the last disconnect, or 0 while connected
 */
public record SessionInfo(String clientId, boolean connected, ProtocolVersion protocolVersion, long expiryInterval,
                          int subscriptions, int inflight, int queued, long disconnectedAt) {
}
