package io.brokkr.api.auth;

import io.brokkr.api.ConnectionContext;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Authenticates connecting clients. Register implementations as OSGi services; the broker asks them in
 * descending {@code service.ranking} order until one answers ALLOW or DENY. If all answer NEXT (or none is
 * registered) the broker's {@code allow.anonymous} / built-in policy decides.
 *
 * <p>The answer is asynchronous so that remote checks (HTTP, LDAP, a database) never block a network thread.
 * A stage that completes exceptionally is treated as DENY with reason code 0x88 (server unavailable).
 *
 * <p>An ALLOW may carry a {@link io.brokkr.api.BrokkrPrincipal} ({@link AuthenticationResult#allow(
 * io.brokkr.api.BrokkrPrincipal)}), and an authenticator may put per-connection data into
 * {@link ConnectionContext#attributes()}: authorizers and interceptors see both through the same context.
 */
@ConsumerType
public interface Authenticator {

    /**
     * @param context the connection (client id, user name, addresses, listener, TLS); its principal is still null
     * @param request the credentials of the CONNECT
     */
    CompletionStage<AuthenticationResult> authenticate(ConnectionContext context, AuthenticationRequest request);
}
