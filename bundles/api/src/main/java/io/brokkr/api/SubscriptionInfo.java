package io.brokkr.api;

/**
 * A subscription held by a session.
 *
 * @param clientId           owning client
 * @param topicFilter        the filter without any {@code $share/group/} prefix
 * @param shareGroup         the shared subscription group, or null for a normal subscription
 * @param qos                maximum QoS granted
 * @param noLocal            MQTT 5 No Local option
 * @param retainAsPublished  MQTT 5 Retain As Published option
 * @param retainHandling     MQTT 5 Retain Handling option (0, 1 or 2)
 * @param subscriptionId     MQTT 5 subscription identifier, or 0 if none
 */
public record SubscriptionInfo(String clientId, String topicFilter, String shareGroup, int qos, boolean noLocal,
                               boolean retainAsPublished, int retainHandling, int subscriptionId) {

    /** The filter as the client subscribed to it, including a {@code $share/group/} prefix if shared. */
    public String fullFilter() {
        return shareGroup == null ? topicFilter : "$share/" + shareGroup + "/" + topicFilter;
    }
}
