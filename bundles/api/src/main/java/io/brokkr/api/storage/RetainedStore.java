package io.brokkr.api.storage;

import io.brokkr.api.Message;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where the broker keeps retained messages. The broker ships an in-memory implementation (ranking
 * {@code Integer.MIN_VALUE}); a higher-ranked service replaces it at runtime. Calls must be thread safe and fast;
 * implementations backed by a remote server should cache.
 */
@ConsumerType
public interface RetainedStore {

    /** Stores (replaces) the retained message for {@code message.topic()}. */
    void put(Message message);

    /** Removes the retained message on {@code topic}; returns true if one existed. */
    boolean remove(String topic);

    /** The retained message on exactly this topic, or null. */
    Message get(String topic);

    /** Retained messages whose topic matches {@code topicFilter} (MQTT wildcard semantics, $-topic rules). */
    List<Message> match(String topicFilter);

    /** Number of retained messages. */
    int size();
}
