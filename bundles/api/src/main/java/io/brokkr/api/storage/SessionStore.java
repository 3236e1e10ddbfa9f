package io.brokkr.api.storage;

import java.util.Collection;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Durable storage of persistent sessions (subscriptions and offline queues), so they survive a broker restart.
 * The broker saves a session when it goes offline and removes it when it expires or is cleaned; it loads all
 * sessions when a store is bound.
 */
@ConsumerType
public interface SessionStore {

    void save(StoredSession session);

    void remove(String clientId);

    Collection<StoredSession> loadAll();
}
