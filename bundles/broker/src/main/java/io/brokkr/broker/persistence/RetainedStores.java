package io.brokkr.broker.persistence;

import io.brokkr.api.Message;
import io.brokkr.api.storage.RetainedStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current {@link RetainedStore} and the one place all retained writes of the broker go through, so that the store
 * can be replaced at runtime ({@link #swap}) without losing a write or bringing back a deleted message.
 *
 * <p>Semantics of a swap from store P (outgoing) to store N (incoming):
 * <ul>
 *   <li>N receives every message of P (overwriting its own on the same topics) and every deletion made since the
 *       broker started (of topics not set again since); N's other messages stay (a durable store keeps what it
 *       stored before, say, a restart). A store that was current before and comes back thus loses what was deleted
 *       while it was away.</li>
 *   <li>The in-memory default is made equal to the outgoing store before it becomes current again, so after an
 *       unbind it holds exactly the outgoing store's messages and nothing it held before.</li>
 *   <li>Writes made while the copy runs are not lost: they go to P (still current, so subscribers see them) and to
 *       a journal that is replayed into N, in order, just before N becomes current.</li>
 * </ul>
 *
 * <p>Threading: writes come from every event loop. They hold the read lock of {@link #lock} (shared, so loops do not
 * wait for each other); while a swap copies they are also serialised on the journal so that the journal's order is
 * the order in which P saw them. The swap takes the write lock twice, briefly: to start journaling (waiting for
 * writes already under way) and to replay the journal and switch. The bulk copy runs without the lock. Reads use
 * {@link #current()} without locking.
 */
public final class RetainedStores {

    private static final Logger LOG = LoggerFactory.getLogger(RetainedStores.class);

    /**
     * Deleted topics remembered, at most. Beyond that an incoming store is made equal to the outgoing one instead
     * (its own other messages are removed), which never brings back a deleted message but drops what a durable
     * store held from before the broker started.
     */
    static final int MAX_TOMBSTONES = 100_000;

    private final MemoryRetainedStore memory = new MemoryRetainedStore();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile RetainedStore current = memory;
    /** Non-null while a swap copies: the writes made meanwhile, in the order the current store saw them. */
    private volatile List<Object> journal;
    /**
     * Topics deleted since the broker started and not set again. An incoming store may hold any of them: a durable
     * store holds what it stored before the broker started, a store that was current before holds what was live
     * when it was left.
     */
    private final Set<String> tombstones = ConcurrentHashMap.newKeySet();
    private volatile boolean tombstonesOverflowed;
    /**
     * First levels starting with '$' of topics written: {@code #} does not match them [MQTT-4.7.2-1], so copying
     * from a store other than the in-memory one asks for each of them ({@code $SYS/#}, ...) explicitly.
     */
    private final Set<String> dollarRoots = ConcurrentHashMap.newKeySet();
    /**
     * Writes to one topic are serialised on one of these, so that the store and {@link #tombstones} agree on which of
     * two racing writes to a topic came last.
     */
    private final Object[] stripes = new Object[64];

    public RetainedStores() {
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new Object();
        }
    }

    /** The store to read from. */
    public RetainedStore current() {
        return current;
    }

    /** Stores a retained message. Any thread. */
    public void put(Message m) {
        String topic = m.topic();
        if (!topic.isEmpty() && topic.charAt(0) == '$') {
            int slash = topic.indexOf('/');
            dollarRoots.add(slash < 0 ? topic : topic.substring(0, slash));
        }
        write(m, topic);
    }

    /** Deletes the retained message on a topic. Any thread. */
    public void remove(String topic) {
        write(null, topic);
    }

    private void write(Message m, String topic) {
        lock.readLock().lock();
        try {
            List<Object> j = journal;
            if (j == null) {
                synchronized (stripes[topic.hashCode() & (stripes.length - 1)]) {
                    apply(current, m, topic);
                }
            } else {
                synchronized (j) {
                    apply(current, m, topic);
                    j.add(m != null ? m : topic);
                }
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    private void apply(RetainedStore store, Message m, String topic) {
        if (m != null) {
            store.put(m);
            if (!tombstones.isEmpty()) {
                tombstones.remove(topic);
            }
        } else {
            store.remove(topic);
            if (!tombstonesOverflowed) {
                if (tombstones.size() >= MAX_TOMBSTONES) {
                    tombstonesOverflowed = true;
                    tombstones.clear();
                    LOG.warn("More than {} retained topics deleted since the start: a retained store set from now "
                            + "on is made equal to the current one", MAX_TOMBSTONES);
                } else {
                    tombstones.add(topic);
                }
            }
        }
    }

    /**
     * Makes {@code store} (null: the in-memory default) the current store, see the class comment. Called from the
     * thread that binds or unbinds the store service; one swap at a time.
     */
    public synchronized void swap(RetainedStore store) {
        RetainedStore next = store == null ? memory : store;
        RetainedStore prev = current;
        if (prev == next) {
            return;
        }
        List<Object> j = new ArrayList<>();
        lock.writeLock().lock(); // writes under way finish first; from here on they are journaled
        try {
            journal = j;
        } finally {
            lock.writeLock().unlock();
        }
        try {
            List<Message> snapshot = all(prev);
            // The in-memory store is made equal to the outgoing one, by removing what it has in excess rather than
            // by emptying it: a SUBSCRIBE that read it while it was current may still be matching in it.
            if (next == memory || tombstonesOverflowed) {
                Map<String, Message> keep = new LinkedHashMap<>();
                for (Message m : snapshot) {
                    keep.put(m.topic(), m);
                }
                for (Message m : all(next)) {
                    if (!keep.containsKey(m.topic())) {
                        next.remove(m.topic());
                    }
                }
            } else {
                for (String t : tombstones.toArray(new String[0])) {
                    next.remove(t);
                }
            }
            for (Message m : snapshot) {
                next.put(m);
            }
        } catch (RuntimeException e) {
            lock.writeLock().lock();
            try {
                journal = null;
            } finally {
                lock.writeLock().unlock();
            }
            LOG.error("Copying the retained messages to {} failed, keeping {}: {}", next, prev, e.toString(), e);
            return;
        }
        lock.writeLock().lock();
        try {
            for (Object o : j) { // the writes made during the copy, in order, overwrite what the copy read
                if (o instanceof Message m) {
                    next.put(m);
                } else {
                    next.remove((String) o);
                }
            }
            current = next;
            journal = null;
        } finally {
            lock.writeLock().unlock();
        }
        LOG.info("Retained store is now {} ({} messages)", next == memory ? "the in-memory store" : next,
                next.size());
    }

    /** Every message of a store: {@code #} and, for topics starting with '$', one filter per first level. */
    private List<Message> all(RetainedStore s) {
        if (s == memory) {
            return memory.all();
        }
        List<Message> out = new ArrayList<>(s.match("#"));
        for (String root : dollarRoots.toArray(new String[0])) {
            out.addAll(s.match(root + "/#"));
        }
        return out;
    }
}
