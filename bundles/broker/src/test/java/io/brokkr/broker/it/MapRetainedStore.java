package io.brokkr.broker.it;

import io.brokkr.api.Message;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link RetainedStore} of the tests, standing for an external (say, durable) store: a concurrent map, wildcard
 * lookups by scanning with {@link Topics#matches}. Each write yields the thread once, to widen the windows in which
 * writes race with a store swap.
 */
final class MapRetainedStore implements RetainedStore {

    final ConcurrentHashMap<String, Message> messages = new ConcurrentHashMap<>();
    private final String name;

    MapRetainedStore(String name) {
        this.name = name;
    }

    @Override
    public void put(Message message) {
        Thread.yield();
        messages.put(message.topic(), message);
    }

    @Override
    public boolean remove(String topic) {
        Thread.yield();
        return messages.remove(topic) != null;
    }

    @Override
    public Message get(String topic) {
        return messages.get(topic);
    }

    @Override
    public List<Message> match(String topicFilter) {
        List<Message> out = new ArrayList<>();
        for (Message m : messages.values()) {
            if (Topics.matches(topicFilter, m.topic())) {
                out.add(m);
            }
        }
        return out;
    }

    @Override
    public int size() {
        return messages.size();
    }

    @Override
    public String toString() {
        return "MapRetainedStore " + name;
    }
}
