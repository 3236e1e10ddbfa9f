package io.brokkr.broker.topic;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A concurrent topic trie mapping (share group, topic filter, subscriber key) to a value.
 *
 * <p>{@link #match(String, Visitor)} is read-mostly and lock-free in the common case: children are looked up in a
 * {@link ConcurrentHashMap} with a reusable probe key (no substring per level), normal subscriptions are read from
 * a volatile immutable snapshot array and shared groups from a volatile immutable array of immutable
 * {@link SharedGroup}s. Mutations take the lock of the node they change; a node's snapshot of normal
 * subscriptions is rebuilt lazily by the first match after a change (under that node's lock).
 *
 * <p>Empty nodes are pruned on unsubscribe. A node is only removed from its parent while holding the parent's and
 * its own lock (parent first), and is then flagged removed; children are only added under the parent's lock to a
 * parent that is not removed, and subscriptions only to a node that is not removed. So every node that is not
 * flagged removed is reachable from the root, and a subscription is never added to a detached node.
 *
 * <p>Keys and values must not be null. Filters are expected to be valid (see {@link Topics#validateTopicFilter});
 * invalid ones are rejected with {@link IllegalArgumentException}.
 *
 * @param <K> subscriber key (e.g. client id), with proper equals/hashCode
 * @param <V> subscription value (e.g. subscription options)
 */
public final class SubscriptionTree<K, V> {

    /** Receives the matches of {@link #match(String, Visitor)}. Called on the matching thread, with no lock held. */
    public interface Visitor<K, V> {
        /** A normal subscription matched (once per matching filter of a key). */
        void subscription(K key, V value);

        /** A shared subscription group matched (once per matching (group, filter) pair). */
        void sharedGroup(SharedGroup<K, V> group);
    }

    /** Receives every subscription of {@link #forEach(EntryVisitor)}. */
    public interface EntryVisitor<K, V> {
        /** {@code shareGroup} is null for normal subscriptions; {@code filter} never contains the share prefix. */
        void entry(String shareGroup, String filter, K key, V value);
    }

    /**
     * An immutable snapshot of one shared subscription group on one filter. The round-robin counter is shared by
     * all snapshots of the same (group, filter) while the group exists.
     */
    public static final class SharedGroup<K, V> {
        private final String group;
        private final String filter;
        private final List<Map.Entry<K, V>> members;
        private final AtomicInteger counter;

        SharedGroup(String group, String filter, List<Map.Entry<K, V>> members, AtomicInteger counter) {
            this.group = group;
            this.filter = filter;
            this.members = members;
            this.counter = counter;
        }

        /** The share name. */
        public String group() {
            return group;
        }

        /** The topic filter (without {@code $share/{group}/}). */
        public String filter() {
            return filter;
        }

        /** Immutable, non-empty list of members in subscription order. */
        public List<Map.Entry<K, V>> members() {
            return members;
        }

        /** Next value of the round-robin counter, never negative: pick {@code members().get(next() % size)}. */
        public int next() {
            return counter.getAndIncrement() & Integer.MAX_VALUE;
        }

        @Override
        public String toString() {
            return "$share/" + group + "/" + filter + members;
        }
    }

    private static final Object[] NO_SUBS = new Object[0];
    private static final SharedGroup<?, ?>[] NO_GROUPS = new SharedGroup<?, ?>[0];

    private final Node<K, V> root = new Node<>(null, "", "");
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicInteger nodes = new AtomicInteger();

    /**
     * Adds or replaces a subscription.
     *
     * @param shareGroup share name, or null for a normal subscription
     * @param filter     topic filter (for a shared subscription: the part after {@code $share/{group}/})
     * @return the previous value for (shareGroup, filter, key), or null
     */
    public V subscribe(String shareGroup, String filter, K key, V value) {
        check(shareGroup, filter);
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        while (true) {
            Node<K, V> node = root;
            int start = 0;
            int len = filter.length();
            while (node != null) {
                int end = filter.indexOf('/', start);
                if (end < 0) {
                    end = len;
                }
                node = node.childOrCreate(filter.substring(start, end), nodes);
                if (end == len) {
                    break;
                }
                start = end + 1;
            }
            if (node == null) {
                continue; // ran into a node being pruned: retry from the root
            }
            synchronized (node) {
                if (node.removed) {
                    continue;
                }
                V previous = shareGroup == null ? node.put(key, value) : node.putShared(shareGroup, key, value);
                if (previous == null) {
                    size.incrementAndGet();
                }
                return previous;
            }
        }
    }

    /**
     * Removes a subscription, pruning nodes left empty.
     *
     * @return the removed value, or null if there was none
     */
    public V unsubscribe(String shareGroup, String filter, K key) {
        Objects.requireNonNull(filter, "filter");
        Objects.requireNonNull(key, "key");
        Node<K, V> node = find(filter);
        if (node == null) {
            return null;
        }
        V removed;
        boolean empty;
        synchronized (node) {
            if (node.removed) {
                return null;
            }
            removed = shareGroup == null ? node.remove(key) : node.removeShared(shareGroup, key);
            empty = node.isEmpty();
        }
        if (removed != null) {
            size.decrementAndGet();
            if (empty) {
                prune(node);
            }
        }
        return removed;
    }

    /** Looks up the value of one subscription, or null. */
    public V get(String shareGroup, String filter, K key) {
        Node<K, V> node = find(filter);
        if (node == null) {
            return null;
        }
        synchronized (node) {
            return shareGroup == null ? node.get(key) : node.getShared(shareGroup, key);
        }
    }

    /**
     * The current snapshot of one shared subscription group, or null if the group has no members on that filter.
     * Lock-free (reads the node's volatile group array).
     */
    public SharedGroup<K, V> sharedGroup(String shareGroup, String filter) {
        Objects.requireNonNull(shareGroup, "shareGroup");
        Node<K, V> node = find(filter);
        if (node == null) {
            return null;
        }
        for (SharedGroup<K, V> g : node.groups) {
            if (g.group.equals(shareGroup)) {
                return g;
            }
        }
        return null;
    }

    /**
     * Visits every subscription matching the topic name (normal ones once per matching (filter, key), shared ones
     * once per matching (group, filter)). Runs concurrently with mutations: each change is either seen or not.
     */
    public void match(String topic, Visitor<K, V> visitor) {
        new Matcher<>(topic, visitor).run(root);
    }

    /** Number of subscriptions, normal and shared. */
    public int size() {
        return size.get();
    }

    /** Visits every subscription (a weakly consistent traversal; each node is read as one snapshot). */
    public void forEach(EntryVisitor<K, V> visitor) {
        ArrayList<Node<K, V>> stack = new ArrayList<>();
        stack.add(root);
        while (!stack.isEmpty()) {
            Node<K, V> node = stack.remove(stack.size() - 1);
            if (node != root) {
                Object[] subs = node.subs();
                for (int i = 0; i < subs.length; i += 2) {
                    visitor.entry(null, node.path, key(subs[i]), value(subs[i + 1]));
                }
                for (SharedGroup<K, V> g : node.groups) {
                    for (Map.Entry<K, V> e : g.members) {
                        visitor.entry(g.group, node.path, e.getKey(), e.getValue());
                    }
                }
            }
            ConcurrentHashMap<Object, Node<K, V>> children = node.children;
            if (children != null) {
                stack.addAll(children.values());
            }
        }
    }

    /** Number of nodes below the root (for tests: 0 once every subscription is gone). */
    int nodeCount() {
        return nodes.get();
    }

    private static void check(String shareGroup, String filter) {
        Objects.requireNonNull(filter, "filter");
        String error = Topics.validateTopicFilter(filter);
        if (error == null && shareGroup == null && Topics.isShared(filter)) {
            error = "shared filter given without a share group; split it with Topics.parseShared";
        }
        if (error != null) {
            throw new IllegalArgumentException("invalid topic filter '" + filter + "': " + error);
        }
        if (shareGroup != null) {
            error = shareGroup.indexOf('/') >= 0 ? "share name contains '/'"
                    : Topics.validateTopicFilter(Topics.SHARE_PREFIX + shareGroup + "/" + filter);
            if (error != null) {
                throw new IllegalArgumentException("invalid share group '" + shareGroup + "': " + error);
            }
        }
    }

    private Node<K, V> find(String filter) {
        Node<K, V> node = root;
        int start = 0;
        int len = filter.length();
        Probe probe = new Probe();
        while (true) {
            int end = filter.indexOf('/', start);
            if (end < 0) {
                end = len;
            }
            node = node.child(probe.set(filter, start, end));
            if (node == null || end == len) {
                return node;
            }
            start = end + 1;
        }
    }

    /** Removes {@code node} and its ancestors while they are empty. Locks parent, then child. */
    private void prune(Node<K, V> node) {
        while (node != root) {
            Node<K, V> parent = node.parent;
            synchronized (parent) {
                synchronized (node) {
                    if (node.removed || !node.isEmpty()) {
                        return;
                    }
                    node.removed = true;
                    parent.children.remove(node.level, node);
                    nodes.decrementAndGet();
                }
            }
            node = parent;
        }
    }

    @SuppressWarnings("unchecked")
    private static <K> K key(Object o) {
        return (K) o;
    }

    @SuppressWarnings("unchecked")
    private static <V> V value(Object o) {
        return (V) o;
    }

    /** One level of the trie. Guarded by its own monitor for writes. */
    private static final class Node<K, V> {
        final Node<K, V> parent;
        final String level;
        /** The topic filter this node stands for. */
        final String path;
        /** Children by level; keys are Strings, looked up with {@link Probe}s. Created lazily under the lock. */
        volatile ConcurrentHashMap<Object, Node<K, V>> children;
        /** Set under the parent's and this node's lock when the node is detached. */
        boolean removed;

        /** Normal subscriptions, guarded by this. */
        HashMap<K, V> subMap;
        /** key0, value0, key1, value1... snapshot of subMap; null when it must be rebuilt. */
        volatile Object[] subs = NO_SUBS;
        /** Shared groups of this filter, replaced as a whole under the lock. */
        @SuppressWarnings("unchecked")
        volatile SharedGroup<K, V>[] groups = (SharedGroup<K, V>[]) NO_GROUPS;

        Node(Node<K, V> parent, String level, String path) {
            this.parent = parent;
            this.level = level;
            this.path = path;
        }

        Node<K, V> child(Object level) {
            ConcurrentHashMap<Object, Node<K, V>> c = children;
            return c == null ? null : c.get(level);
        }

        /** The child for {@code level}, created if needed; null if this node has been removed. */
        Node<K, V> childOrCreate(String level, AtomicInteger nodes) {
            Node<K, V> child = child(level);
            if (child != null) {
                return child;
            }
            synchronized (this) {
                if (removed) {
                    return null;
                }
                ConcurrentHashMap<Object, Node<K, V>> c = children;
                if (c == null) {
                    c = new ConcurrentHashMap<>(4);
                    children = c;
                }
                child = c.get(level);
                if (child == null) {
                    child = new Node<>(this, level, parent == null ? level : path + "/" + level);
                    c.put(level, child);
                    nodes.incrementAndGet();
                }
                return child;
            }
        }

        /** Under the lock. */
        boolean isEmpty() {
            ConcurrentHashMap<Object, Node<K, V>> c = children;
            return (subMap == null || subMap.isEmpty()) && groups.length == 0 && (c == null || c.isEmpty());
        }

        /** The snapshot of normal subscriptions, rebuilding it if a mutation invalidated it. */
        Object[] subs() {
            Object[] s = subs;
            if (s != null) {
                return s;
            }
            synchronized (this) {
                s = subs;
                if (s == null) {
                    s = new Object[subMap.size() * 2];
                    int i = 0;
                    for (Map.Entry<K, V> e : subMap.entrySet()) {
                        s[i++] = e.getKey();
                        s[i++] = e.getValue();
                    }
                    subs = s;
                }
                return s;
            }
        }

        // ---- normal subscriptions, all under the lock

        V get(K key) {
            return subMap == null ? null : subMap.get(key);
        }

        V put(K key, V value) {
            if (subMap == null) {
                subMap = new HashMap<>(4);
            }
            V previous = subMap.put(key, value);
            subs = null;
            return previous;
        }

        V remove(K key) {
            if (subMap == null) {
                return null;
            }
            V previous = subMap.remove(key);
            if (previous != null) {
                if (subMap.isEmpty()) {
                    subMap = null;
                    subs = NO_SUBS;
                } else {
                    subs = null;
                }
            }
            return previous;
        }

        // ---- shared subscriptions, all under the lock

        private int groupIndex(String group) {
            SharedGroup<K, V>[] gs = groups;
            for (int i = 0; i < gs.length; i++) {
                if (gs[i].group.equals(group)) {
                    return i;
                }
            }
            return -1;
        }

        private static <K, V> int memberIndex(List<Map.Entry<K, V>> members, K key) {
            for (int i = 0, n = members.size(); i < n; i++) {
                if (members.get(i).getKey().equals(key)) {
                    return i;
                }
            }
            return -1;
        }

        V getShared(String group, K key) {
            int gi = groupIndex(group);
            if (gi < 0) {
                return null;
            }
            List<Map.Entry<K, V>> members = groups[gi].members;
            int mi = memberIndex(members, key);
            return mi < 0 ? null : members.get(mi).getValue();
        }

        V putShared(String group, K key, V value) {
            SharedGroup<K, V>[] gs = groups;
            int gi = groupIndex(group);
            if (gi < 0) {
                SharedGroup<K, V>[] copy = Arrays.copyOf(gs, gs.length + 1);
                copy[gs.length] = new SharedGroup<>(group, path, List.of(Map.entry(key, value)), new AtomicInteger());
                groups = copy;
                return null;
            }
            SharedGroup<K, V> old = gs[gi];
            ArrayList<Map.Entry<K, V>> members = new ArrayList<>(old.members);
            int mi = memberIndex(members, key);
            V previous = null;
            if (mi < 0) {
                members.add(Map.entry(key, value));
            } else {
                previous = members.get(mi).getValue();
                members.set(mi, Map.entry(key, value));
            }
            SharedGroup<K, V>[] copy = gs.clone();
            copy[gi] = new SharedGroup<>(group, path, List.copyOf(members), old.counter);
            groups = copy;
            return previous;
        }

        V removeShared(String group, K key) {
            SharedGroup<K, V>[] gs = groups;
            int gi = groupIndex(group);
            if (gi < 0) {
                return null;
            }
            SharedGroup<K, V> old = gs[gi];
            int mi = memberIndex(old.members, key);
            if (mi < 0) {
                return null;
            }
            V previous = old.members.get(mi).getValue();
            if (old.members.size() == 1) {
                @SuppressWarnings("unchecked")
                SharedGroup<K, V>[] copy = (SharedGroup<K, V>[]) new SharedGroup<?, ?>[gs.length - 1];
                System.arraycopy(gs, 0, copy, 0, gi);
                System.arraycopy(gs, gi + 1, copy, gi, gs.length - gi - 1);
                groups = copy;
            } else {
                ArrayList<Map.Entry<K, V>> members = new ArrayList<>(old.members);
                members.remove(mi);
                SharedGroup<K, V>[] copy = gs.clone();
                copy[gi] = new SharedGroup<>(group, path, List.copyOf(members), old.counter);
                groups = copy;
            }
            return previous;
        }
    }

    /**
     * A lookup key for a region of a String: equal (as a {@link ConcurrentHashMap} lookup key, whose
     * {@code get} is specified to test {@code key.equals(k)}) to the String with the same characters, and with
     * the same hash code as that String.
     */
    private static final class Probe {
        private String s;
        private int start;
        private int end;
        private int hash;

        Probe set(String s, int start, int end) {
            this.s = s;
            this.start = start;
            this.end = end;
            int h = 0;
            for (int i = start; i < end; i++) {
                h = 31 * h + s.charAt(i);
            }
            this.hash = h;
            return this;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (o instanceof String) {
                String other = (String) o;
                int len = end - start;
                return other.length() == len && other.regionMatches(0, s, start, len);
            }
            return false;
        }

        @Override
        public String toString() {
            return s.substring(start, end);
        }
    }

    /** One match: an explicit stack (no recursion, so deep filters cannot overflow the thread's stack). */
    private static final class Matcher<K, V> {
        private final String topic;
        private final Visitor<K, V> visitor;
        private final Probe probe = new Probe();
        private Node<K, V>[] stackNodes;
        private int[] stackStarts;
        private int depth;

        Matcher(String topic, Visitor<K, V> visitor) {
            this.topic = topic;
            this.visitor = visitor;
        }

        void run(Node<K, V> root) {
            String t = topic;
            int tl = t.length();
            boolean dollar = tl > 0 && t.charAt(0) == '$';
            Node<K, V> node = root;
            int start = 0; // start of the next topic level; tl + 1 when there is none
            while (true) {
                if (start > tl) {
                    // all levels consumed: the node itself and its "#" child ("a/#" matches "a")
                    visit(node);
                    Node<K, V> hash = node.child("#");
                    if (hash != null) {
                        visit(hash);
                    }
                    node = null;
                } else {
                    ConcurrentHashMap<Object, Node<K, V>> children = node.children;
                    Node<K, V> next = null;
                    if (children != null) {
                        int end = t.indexOf('/', start);
                        if (end < 0) {
                            end = tl;
                        }
                        if (!dollar || node != root) {
                            Node<K, V> hash = children.get("#");
                            if (hash != null) {
                                visit(hash);
                            }
                            next = children.get("+");
                        }
                        Node<K, V> exact = children.get(probe.set(t, start, end));
                        if (exact != null) {
                            if (next != null) {
                                push(exact, end + 1);
                            } else {
                                next = exact;
                            }
                        }
                        start = end + 1;
                    }
                    node = next;
                }
                if (node == null) {
                    if (depth == 0) {
                        return;
                    }
                    depth--;
                    node = stackNodes[depth];
                    start = stackStarts[depth];
                    stackNodes[depth] = null;
                }
            }
        }

        @SuppressWarnings("unchecked")
        private void push(Node<K, V> node, int start) {
            if (stackNodes == null) {
                stackNodes = (Node<K, V>[]) new Node<?, ?>[8];
                stackStarts = new int[8];
            } else if (depth == stackNodes.length) {
                stackNodes = Arrays.copyOf(stackNodes, depth * 2);
                stackStarts = Arrays.copyOf(stackStarts, depth * 2);
            }
            stackNodes[depth] = node;
            stackStarts[depth] = start;
            depth++;
        }

        private void visit(Node<K, V> node) {
            Object[] subs = node.subs();
            for (int i = 0; i < subs.length; i += 2) {
                visitor.subscription(key(subs[i]), value(subs[i + 1]));
            }
            for (SharedGroup<K, V> g : node.groups) {
                visitor.sharedGroup(g);
            }
        }
    }
}
