package io.brokkr.broker.persistence;

import io.brokkr.api.Message;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The default retained message store: a concurrent map by topic for exact lookups and a tree by topic level for
 * wildcard lookups, so a filter visits only the branches it can match ({@code r/+/x} looks at the children of
 * {@code r} and one child of each, never at topics outside {@code r/}).
 *
 * <p>Reads ({@link #get}, {@link #match}, {@link #size}) take no lock. Writes ({@link #put}, {@link #remove},
 * {@link #clear}) are serialised by the store's monitor, which also prunes empty branches, so a tree node never
 * disappears while a write below it is under way. A concurrent {@link #match} sees each topic either before or
 * after a concurrent write to it.
 */
public final class MemoryRetainedStore implements RetainedStore {

    /** One topic level. Children by level name (the empty string is a valid level: {@code a//b}). */
    private static final class Node {
        final Node parent;
        final String level;
        final ConcurrentHashMap<String, Node> children = new ConcurrentHashMap<>(4);
        volatile Message message;

        Node(Node parent, String level) {
            this.parent = parent;
            this.level = level;
        }
    }

    private final ConcurrentHashMap<String, Message> messages = new ConcurrentHashMap<>();
    private final Node root = new Node(null, null);

    @Override
    public void put(Message message) {
        String topic = message.topic();
        synchronized (this) {
            Node n = root;
            int start = 0;
            while (true) {
                int end = topic.indexOf('/', start);
                String level = topic.substring(start, end < 0 ? topic.length() : end);
                Node parent = n;
                n = n.children.computeIfAbsent(level, l -> new Node(parent, l));
                if (end < 0) {
                    break;
                }
                start = end + 1;
            }
            n.message = message;
            messages.put(topic, message);
        }
    }

    @Override
    public boolean remove(String topic) {
        synchronized (this) {
            if (messages.remove(topic) == null) {
                return false;
            }
            Node n = find(topic);
            if (n != null) {
                n.message = null;
                prune(n);
            }
            return true;
        }
    }

    /** Removes every message (the broker empties the in-memory store before it becomes current again). */
    public void clear() {
        synchronized (this) {
            messages.clear();
            root.children.clear();
        }
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
        String[] levels = topicFilter.split("/", -1);
        String first = levels[0];
        if (first.equals("+") || first.equals("#")) {
            // a leading wildcard does not match topics starting with '$' [MQTT-4.7.2-1]
            for (Node c : root.children.values()) {
                if (c.level.isEmpty() || c.level.charAt(0) != '$') {
                    match(c, levels, 0, out);
                }
            }
        } else {
            Node c = root.children.get(first);
            if (c != null) {
                match(c, levels, 0, out);
            }
        }
        return out;
    }

    /** {@code n} matched level {@code i} of the filter; collects what the rest of the filter matches below it. */
    private static void match(Node n, String[] levels, int i, List<Message> out) {
        if (levels[i].equals("#")) {
            collect(n, out); // '#' matches the parent level too
            return;
        }
        if (i == levels.length - 1) {
            Message m = n.message;
            if (m != null) {
                out.add(m);
            }
            return;
        }
        String next = levels[i + 1];
        if (next.equals("+")) {
            for (Node c : n.children.values()) {
                match(c, levels, i + 1, out);
            }
            return;
        }
        if (next.equals("#")) {
            Message m = n.message; // "a/#" matches "a"
            if (m != null) {
                out.add(m);
            }
            for (Node c : n.children.values()) {
                collect(c, out);
            }
            return;
        }
        Node c = n.children.get(next);
        if (c != null) {
            match(c, levels, i + 1, out);
        }
    }

    /** Everything at and below {@code n}. */
    private static void collect(Node n, List<Message> out) {
        Message m = n.message;
        if (m != null) {
            out.add(m);
        }
        for (Node c : n.children.values()) {
            collect(c, out);
        }
    }

    /** The node of a topic, or null. */
    private Node find(String topic) {
        Node n = root;
        int start = 0;
        while (n != null) {
            int end = topic.indexOf('/', start);
            n = n.children.get(topic.substring(start, end < 0 ? topic.length() : end));
            if (end < 0) {
                return n;
            }
            start = end + 1;
        }
        return null;
    }

    /** Removes {@code n} and its ancestors while they hold neither a message nor children. Under the monitor. */
    private void prune(Node n) {
        while (n != root && n.message == null && n.children.isEmpty()) {
            n.parent.children.remove(n.level, n);
            n = n.parent;
        }
    }

    /** Every retained message, including those on {@code $} topics that {@code #} does not match. */
    public List<Message> all() {
        return new ArrayList<>(messages.values());
    }

    @Override
    public int size() {
        return messages.size();
    }
}
