package io.brokkr.broker.topic;

import io.brokkr.api.SubscriptionInfo;

/**
 * A granted subscription of one session.
 *
 * @param shareGroup        shared subscription group or null
 * @param filter            topic filter without the $share prefix
 * @param qos               granted maximum QoS
 * @param noLocal           do not deliver the session's own publishes
 * @param retainAsPublished keep the RETAIN flag of forwarded messages
 * @param retainHandling    0 send retained at subscribe, 1 only if new, 2 never
 * @param subscriptionId    MQTT 5 subscription identifier or 0
 */
public record Subscription(String shareGroup, String filter, int qos, boolean noLocal, boolean retainAsPublished,
                    int retainHandling, int subscriptionId) {

    public String key() {
        return shareGroup == null ? filter : "$share/" + shareGroup + "/" + filter;
    }

    public SubscriptionInfo info(String clientId) {
        return new SubscriptionInfo(clientId, filter, shareGroup, qos, noLocal, retainAsPublished, retainHandling,
                subscriptionId);
    }
}
