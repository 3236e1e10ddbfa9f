package io.brokkr.api.auth;

import io.brokkr.api.UserProperty;
import java.util.List;

/**
 * The credentials a client presented in its CONNECT packet. Who and where the client is (client id, user name,
 * addresses, listener, protocol version, TLS) is in the {@link io.brokkr.api.ConnectionContext} passed alongside.
 *
 * @param password             password bytes, or null
 * @param authenticationMethod MQTT 5 Authentication Method, or null
 * @param authenticationData   MQTT 5 Authentication Data, or null
 * @param userProperties       CONNECT user properties
 */
public record AuthenticationRequest(byte[] password, String authenticationMethod, byte[] authenticationData,
                                    List<UserProperty> userProperties) {
}
