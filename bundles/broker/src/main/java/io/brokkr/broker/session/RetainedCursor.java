package io.brokkr.broker.session;

import io.brokkr.api.Message;
import io.brokkr.broker.topic.Subscription;
import java.util.List;

/**
 * The retained messages a SUBSCRIBE matched that are still to be sent to the session, in store order. The session
 * continues it while the socket is writable and its inflight window has room ({@link Session#pumpRetained()}), so
 * any number of retained messages reaches a new subscriber without being dropped and without counting against
 * {@code max.queued.messages}.
 */
final class RetainedCursor {

    /** The filter of the subscription (not shared: shared subscriptions get no retained messages). */
    final String filter;
    final Subscription subscription;
    final int[] subscriptionIds;
    private final List<Message> messages;
    private int next;

    RetainedCursor(Subscription subscription, List<Message> messages) {
        this.filter = subscription.filter();
        this.subscription = subscription;
        this.subscriptionIds = subscription.subscriptionId() == 0 ? Delivery.NO_IDS
                : new int[] {subscription.subscriptionId()};
        this.messages = messages;
    }

    boolean hasNext() {
        return next < messages.size();
    }

    Message peek() {
        return messages.get(next);
    }

    void advance() {
        next++;
    }

    int remaining() {
        return messages.size() - next;
    }
}
