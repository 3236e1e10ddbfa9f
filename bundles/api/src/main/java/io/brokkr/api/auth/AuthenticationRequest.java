package io.brokkr.api.auth;

import io.brokkr.api.ProtocolVersion;
import io.brokkr.api.UserProperty;
import java.util.List;

/**
 * What a client presented in its CONNECT packet.
 *
 * @param clientId             client identifier (already assigned if the client sent an empty one)
 * @param username             user name, or null
 * @param password             password bytes, or null
 * @param remoteAddress        "host:port" of the peer
 * @param listener             listener name
 * @param protocolVersion      protocol version
 * @param authenticationMethod MQTT 5 Authentication Method, or null
 * @param authenticationData   MQTT 5 Authentication Data, or null
 * @param userProperties       CONNECT user properties
 */
public record AuthenticationRequest(String clientId, String username, byte[] password, String remoteAddress,
                                    String listener, ProtocolVersion protocolVersion, String authenticationMethod,
                                    byte[] authenticationData, List<UserProperty> userProperties) {
}
