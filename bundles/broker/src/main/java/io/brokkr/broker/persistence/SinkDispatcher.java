package io.brokkr.broker.persistence;

import io.brokkr.api.Message;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.broker.topic.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds one {@link MessageSink} asynchronously: routed messages are buffered (bounded) and handed over in ordered
 * batches, one batch in flight at a time; a failed batch is retried with back-off until it succeeds.
 */
public final class SinkDispatcher {

    private static final Logger LOG = LoggerFactory.getLogger(SinkDispatcher.class);

    private final String name;
    private final MessageSink sink;
    private final String[] filters;
    private final int batchSize;
    private final int capacity;
    private final ConcurrentLinkedQueue<Message> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicBoolean running = new AtomicBoolean();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder stored = new LongAdder();
    private final ScheduledExecutorService executor;
    private volatile boolean closed;

    public SinkDispatcher(String name, MessageSink sink, String[] filters, int batchSize, int capacity) {
        this.name = name;
        this.sink = sink;
        this.filters = filters == null || filters.length == 0 ? new String[] {"#"} : filters.clone();
        for (String f : this.filters) {
            String err = Topics.validateTopicFilter(f);
            if (err != null) {
                throw new IllegalArgumentException("sink " + name + ": invalid sink.topics filter '" + f + "': " + err);
            }
        }
        this.batchSize = Math.max(1, batchSize);
        this.capacity = Math.max(1, capacity);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "brokkr-sink-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    public MessageSink sink() {
        return sink;
    }

    public long stored() {
        return stored.sum();
    }

    public long dropped() {
        return dropped.sum();
    }

    public int pending() {
        return size.get();
    }

    public void offer(Message m) {
        if (closed || !accepts(m.topic())) {
            return;
        }
        if (size.incrementAndGet() > capacity) {
            size.decrementAndGet();
            dropped.increment();
            if (dropped.sum() % 1000 == 1) {
                LOG.warn("Sink {}: buffer full ({} messages), dropping (total dropped {})", name, capacity,
                        dropped.sum());
            }
            return;
        }
        queue.add(m);
        trigger();
    }

    private boolean accepts(String topic) {
        for (String f : filters) {
            if (Topics.matches(f, topic)) {
                return true;
            }
        }
        return false;
    }

    private void trigger() {
        if (running.compareAndSet(false, true)) {
            executor.execute(this::next);
        }
    }

    private void next() {
        List<Message> batch = new ArrayList<>(Math.min(batchSize, size.get() + 1));
        Message m;
        while (batch.size() < batchSize && (m = queue.poll()) != null) {
            batch.add(m);
        }
        if (batch.isEmpty()) {
            running.set(false);
            if (!queue.isEmpty()) {
                trigger();
            }
            return;
        }
        store(batch, 0);
    }

    private void store(List<Message> batch, int attempt) {
        if (closed) {
            return;
        }
        java.util.concurrent.CompletionStage<Void> stage;
        try {
            stage = sink.store(List.copyOf(batch));
        } catch (RuntimeException e) {
            stage = java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((v, err) -> {
            if (err == null) {
                size.addAndGet(-batch.size());
                stored.add(batch.size());
                executor.execute(this::next);
            } else {
                long delay = Math.min(30_000L, 500L << Math.min(attempt, 6));
                LOG.warn("Sink {}: storing {} messages failed ({}); retry {} in {} ms", name, batch.size(),
                        err.toString(), attempt + 1, delay);
                executor.schedule(() -> store(batch, attempt + 1), delay, TimeUnit.MILLISECONDS);
            }
        });
    }

    public void close() {
        closed = true;
        executor.shutdownNow();
        int left = size.get();
        if (left > 0) {
            LOG.warn("Sink {} closed with {} messages not yet stored", name, left);
        }
    }
}
