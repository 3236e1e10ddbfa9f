package io.brokkr.api.auth;

import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Authenticates connecting clients. Register implementations as OSGi services; the broker asks them in
 * descending {@code service.ranking} order until one answers ALLOW or DENY. If all answer NEXT (or none is
 * registered) the broker's {@code allow.anonymous} / built-in policy decides.
 *
 * <p>The answer is asynchronous so that remote checks (HTTP, LDAP, a database) never block a network thread.
 * A stage that completes exceptionally is treated as DENY with reason code 0x88 (server unavailable).
 */
@ConsumerType
public interface Authenticator {

    CompletionStage<AuthenticationResult> authenticate(AuthenticationRequest request);
}
