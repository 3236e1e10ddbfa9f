package io.brokkr.broker.session;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.Stats;

/**
 * What a {@link Session} calls on the broker that owns it (implemented by the engine), so that the session package
 * depends on nothing above it.
 */
public interface SessionHost {

    BrokerConfig config();

    /** The broker's counters. */
    Stats counters();

    /** Publishes a will of {@code client} (after its authorization). */
    void publishWill(Message will, ConnectionContext client);

    /** Removes an expired or ended session from the broker (its subscriptions too). */
    void endSession(Session s);

    /** Hands a message chosen for a shared subscription of an ended session to another member of the group. */
    void redispatchShared(Delivery d);

    /** The retained store in use now. */
    RetainedStore retainedStore();

    /** Removes a retained message (found expired while delivering it). */
    void removeRetained(String topic);

    /** Exact encoded size of an outbound PUBLISH packet. */
    int publishPacketSize(String topic, int qos, boolean v5, MessageProperties mp, Long remainingExpiry,
                          int[] subscriptionIds, int topicAlias, int payloadLength);
}
