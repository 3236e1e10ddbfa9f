package io.brokkr.broker.engine;

import io.brokkr.api.ObserverInfo;
import io.brokkr.api.intercept.BrokerEvent;
import io.brokkr.api.intercept.MessageObserver;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds one {@link MessageObserver} on a thread of its own from a bounded queue. {@link #offer} never blocks: when
 * the queue is full the event is dropped for this observer and counted, and a warning naming the observer is logged
 * at most once per {@link #LOG_INTERVAL_MILLIS}. An exception from the observer is counted and logged the same way.
 */
public final class ObserverQueue {

    private static final Logger LOG = LoggerFactory.getLogger(ObserverQueue.class);
    static final long LOG_INTERVAL_MILLIS = 10_000;
    public static final int DEFAULT_CAPACITY = 10_000;

    private final String name;
    private final MessageObserver observer;
    private final Set<BrokerEvent.Type> types;
    private final ArrayBlockingQueue<BrokerEvent> queue;
    private final Thread thread;
    private final LongAdder delivered = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong lastDropLog = new AtomicLong(Long.MIN_VALUE / 2);
    private final AtomicLong lastFailLog = new AtomicLong(Long.MIN_VALUE / 2);
    private volatile boolean closed;

    /**
     * @param types the event types it wants (empty: all)
     */
    public ObserverQueue(String name, MessageObserver observer, int capacity, Set<BrokerEvent.Type> types) {
        this.name = name;
        this.observer = observer;
        this.types = types.isEmpty() ? EnumSet.allOf(BrokerEvent.Type.class) : EnumSet.copyOf(types);
        this.queue = new ArrayBlockingQueue<>(Math.max(1, capacity));
        this.thread = new Thread(this::run, "brokkr-observer-" + name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Parses the {@value MessageObserver#EVENTS} property: type names, comma separated, case-insensitive. */
    public static Set<BrokerEvent.Type> parseTypes(Object value) {
        Set<BrokerEvent.Type> set = EnumSet.noneOf(BrokerEvent.Type.class);
        for (String s : io.brokkr.api.storage.RecordFormat.split(value)) {
            try {
                set.add(BrokerEvent.Type.valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(MessageObserver.EVENTS + ": unknown event type '" + s + "'");
            }
        }
        return set;
    }

    public String name() {
        return name;
    }

    public MessageObserver observer() {
        return observer;
    }

    public boolean wants(BrokerEvent.Type type) {
        return types.contains(type);
    }

    /** Queues an event; never blocks. */
    public void offer(BrokerEvent e) {
        if (closed || !types.contains(e.type())) {
            return;
        }
        if (!queue.offer(e)) {
            dropped.increment();
            long now = System.currentTimeMillis();
            long last = lastDropLog.get();
            if (now - last >= LOG_INTERVAL_MILLIS && lastDropLog.compareAndSet(last, now)) {
                LOG.warn("Observer {}: its queue of {} events is full; {} events dropped for it so far", name,
                        queue.remainingCapacity() + queue.size(), dropped.sum());
            }
        }
    }

    private void run() {
        while (!closed || !queue.isEmpty()) {
            BrokerEvent e;
            try {
                e = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException ie) {
                if (closed) {
                    return;
                }
                continue;
            }
            if (e == null) {
                continue;
            }
            try {
                observer.onEvent(e);
                delivered.increment();
            } catch (RuntimeException | LinkageError ex) {
                failed.increment();
                long now = System.currentTimeMillis();
                long last = lastFailLog.get();
                if (now - last >= LOG_INTERVAL_MILLIS && lastFailLog.compareAndSet(last, now)) {
                    LOG.warn("Observer {} failed on {} ({} failures so far): {}", name, e.type(), failed.sum(),
                            ex.toString(), ex);
                }
            }
        }
    }

    /** Stops taking events; the thread delivers what is queued (for at most {@code waitMillis}) and ends. */
    public void close(long waitMillis) {
        closed = true;
        try {
            thread.join(waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            queue.clear();
            thread.interrupt();
        }
    }

    public ObserverInfo info() {
        return new ObserverInfo(name, queue.size(), queue.size() + queue.remainingCapacity(), delivered.sum(),
                dropped.sum(), failed.sum());
    }
}
