package io.brokkr.broker;

import io.brokkr.api.Message;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/** The default retained message store: a concurrent map, wildcard lookups scan it. */
public final class MemoryRetainedStore implements RetainedStore {

    private final ConcurrentHashMap<String, Message> messages = new ConcurrentHashMap<>();

    @Override
    public void put(Message message) {
        messages.put(message.topic(), message);
    }

    @Override
    public boolean remove(String topic) {
        return messages.remove(topic) != null;
    }

    @Override
    public Message get(String topic) {
        return messages.get(topic);
    }

    @Override
    public List<Message> match(String topicFilter) {
        if (!Topics.hasWildcard(topicFilter)) {
            Message m = messages.get(topicFilter);
            return m == null ? List.of() : List.of(m);
        }
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
}
