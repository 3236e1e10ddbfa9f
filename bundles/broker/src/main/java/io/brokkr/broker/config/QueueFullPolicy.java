package io.brokkr.broker.config;

import java.util.Locale;

/**
 * What happens when an online session cannot keep up with the messages routed to it (its queue reaches the
 * back-pressure threshold): cfg key {@code queue.full.policy}, per client id prefix
 * ({@code queue.full.policy.throttle.clients}, {@code queue.full.policy.drop.clients}) or per listener.
 */
public enum QueueFullPolicy {
    /**
     * The default: a publisher is paused only while no target of its message can take it (every target congested),
     * so that a fan-in into one slow subscriber loses nothing, while a slow subscriber that receives what others
     * receive too slows nobody down: its queue fills to its bound and overflows for it alone (counted).
     */
    AUTO,
    /** Publishers to this session are paused while it is congested, whatever other subscribers do. */
    THROTTLE,
    /** This session never slows publishers down: what overflows its queue is dropped for it (counted). */
    DROP;

    /** Parses a cfg value (case-insensitive); IllegalArgumentException naming the allowed values otherwise. */
    public static QueueFullPolicy parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + value + "' is not one of auto, throttle, drop");
        }
    }
}
