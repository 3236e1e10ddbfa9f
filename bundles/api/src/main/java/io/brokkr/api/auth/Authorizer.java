package io.brokkr.api.auth;

import io.brokkr.api.ClientInfo;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Authorizes publishes and subscriptions. Asked in descending {@code service.ranking} order; the first
 * non-{@link Decision#NEXT} decision wins. With no decision the action is allowed.
 * Implementations are called on network threads and must not block.
 */
@ConsumerType
public interface Authorizer {

    enum Decision { ALLOW, DENY, NEXT }

    default Decision authorizePublish(ClientInfo client, String topic, int qos, boolean retain) {
        return Decision.NEXT;
    }

    default Decision authorizeSubscribe(ClientInfo client, String topicFilter, int qos) {
        return Decision.NEXT;
    }
}
