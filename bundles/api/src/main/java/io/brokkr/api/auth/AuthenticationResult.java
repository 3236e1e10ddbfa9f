package io.brokkr.api.auth;

import io.brokkr.api.BrokkrPrincipal;

/**
 * The outcome of one authenticator.
 *
 * @param decision   ALLOW, DENY, or NEXT to let the next authenticator (by service ranking) decide
 * @param reasonCode MQTT 5 CONNACK reason code used on DENY (e.g. 0x86 bad user name or password,
 *                   0x87 not authorized, 0x8A banned); mapped to the closest 3.1.1 return code for older clients
 * @param reason     human readable reason (sent as Reason String to MQTT 5 clients and logged)
 * @param principal  on ALLOW, who the client is (roles, attributes), or null; authorizers and interceptors see it
 *                   as {@link io.brokkr.api.ConnectionContext#principal()}. Ignored with DENY and NEXT
 */
public record AuthenticationResult(Decision decision, int reasonCode, String reason, BrokkrPrincipal principal) {

    public enum Decision { ALLOW, DENY, NEXT }

    public static final int BAD_USERNAME_OR_PASSWORD = 0x86;
    public static final int NOT_AUTHORIZED = 0x87;
    public static final int SERVER_UNAVAILABLE = 0x88;
    public static final int BANNED = 0x8A;

    /** Allows the connection without a principal. */
    public static AuthenticationResult allow() {
        return allow(null);
    }

    /** Allows the connection as {@code principal}. */
    public static AuthenticationResult allow(BrokkrPrincipal principal) {
        return new AuthenticationResult(Decision.ALLOW, 0, null, principal);
    }

    public static AuthenticationResult next() {
        return new AuthenticationResult(Decision.NEXT, 0, null, null);
    }

    public static AuthenticationResult deny(int reasonCode, String reason) {
        return new AuthenticationResult(Decision.DENY, reasonCode, reason, null);
    }
}
