package io.brokkr.api;

/**
 * A connected (or connecting) client as seen by the broker.
 *
 * @param clientId         the client identifier (assigned by the broker if the client sent an empty one)
 * @param username         the user name from CONNECT, or null
 * @param remoteAddress    "host:port" of the peer
 * @param listener         name of the listener the client connected through
 * @param protocolVersion  protocol spoken on this connection
 * @param cleanStart       Clean Start (MQTT 5) / Clean Session (3.1.1) flag
 * @param keepAlive        effective keep alive in seconds (0 = none)
 * @param connectedAt      epoch millis of the CONNECT
 */
public record ClientInfo(String clientId, String username, String remoteAddress, String listener,
                         ProtocolVersion protocolVersion, boolean cleanStart, int keepAlive, long connectedAt) {
}
