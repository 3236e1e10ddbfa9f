package io.brokkr.api.storage;

import io.brokkr.api.Message;
import io.brokkr.api.SubscriptionInfo;
import java.util.List;

/**
 * The durable part of a persistent session: what must survive a broker restart.
 *
 * @param clientId        client identifier
 * @param expiryInterval  session expiry interval in seconds ({@code 0xFFFFFFFFL} = never)
 * @param disconnectedAt  epoch millis of the disconnect (0 if it was connected when saved)
 * @param subscriptions   the subscriptions
 * @param queued          messages waiting for delivery, in order
 */
public record StoredSession(String clientId, long expiryInterval, long disconnectedAt,
                            List<SubscriptionInfo> subscriptions, List<Message> queued) {
}
