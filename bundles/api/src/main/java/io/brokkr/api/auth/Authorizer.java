package io.brokkr.api.auth;

import io.brokkr.api.ConnectionContext;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Authorizes publishes and subscriptions. Asked in descending {@code service.ranking} order; the first
 * non-{@link Decision#NEXT} decision wins. With no decision the action is allowed.
 * Implementations are called on network threads and must not block.
 *
 * <p>The {@link ConnectionContext} is the one the authenticator saw, now with the principal it returned
 * ({@link ConnectionContext#principal()}, {@link ConnectionContext#hasRole(String)}) and the attributes it set.
 * A will is asked about as a publish of its client at CONNECT, once authentication has succeeded.
 */
@ConsumerType
public interface Authorizer {

    enum Decision { ALLOW, DENY, NEXT }

    default Decision authorizePublish(ConnectionContext context, String topic, int qos, boolean retain) {
        return Decision.NEXT;
    }

    default Decision authorizeSubscribe(ConnectionContext context, String topicFilter, int qos) {
        return Decision.NEXT;
    }
}
