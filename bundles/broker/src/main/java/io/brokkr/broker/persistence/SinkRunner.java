package io.brokkr.broker.persistence;

import io.brokkr.api.SinkInfo;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.broker.topic.Topics;
import io.brokkr.journal.Cursor;
import io.brokkr.journal.Journal;
import io.brokkr.journal.JournalRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One known sink: its journal cursor, its filters and counters, and (while a service is attached and it is not
 * paused) a thread that reads the journal from the cursor and writes batches to the service. A batch is committed
 * (the cursor moves past it) only when the service's write completed; a failed write is retried, the same batch,
 * with back-off from {@value #MIN_BACKOFF_MILLIS} ms doubling to {@value #MAX_BACKOFF_MILLIS} ms, until it succeeds or
 * the service goes away (then the next service with this name gets the batch again).
 */
final class SinkRunner {

    private static final Logger LOG = LoggerFactory.getLogger(SinkRunner.class);
    static final long MIN_BACKOFF_MILLIS = 100;
    static final long MAX_BACKOFF_MILLIS = 30_000;
    /** A write that has not completed after this long counts as failed (and is retried). */
    static final long WRITE_TIMEOUT_MILLIS = 120_000;
    private static final long MAX_BATCH_BYTES = 16L * 1024 * 1024;

    private final String name;
    private final Journal journal;
    private final Cursor cursor;
    private volatile List<String> topics;
    /** Matchers of {@link #topics} ({@link Topics#matcher}), replaced with it. */
    private volatile Predicate<String>[] matchers;
    private volatile long maxBacklogBytes;
    private final LongAdder written = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder skipped = new LongAdder();
    private volatile long failedInRow;
    private volatile String lastError;
    private volatile long lastWriteTime;
    private final Object signal = new Object();
    /** New records may be there (set by the journal's writer thread, cleared by the sink thread). */
    private volatile boolean available;
    /**
     * The sink thread waits for records ({@link #awaitData}): only then does the journal's writer thread notify it.
     * While the thread lingers for a batch to fill or backs off, a notification would only wake it to wait again
     * (about one per journal batch, a thousand and more a second under load, each a futex call on both threads).
     */
    private volatile boolean idle;

    // guarded by this
    private MessageSink sink;
    /**
     * Volatile, read by the sink thread without this object's monitor: {@link #stopThread} holds the monitor while it
     * waits for the thread, and a thread that took the monitor to read them blocked until that wait gave up (10 s).
     */
    private volatile int batchSize = 500;
    private volatile long lingerMillis = 5;
    private boolean paused;
    private volatile Thread thread;
    private volatile boolean closed;

    SinkRunner(String name, Journal journal, List<String> topics, long maxBacklogBytes) {
        this(name, journal, topics, maxBacklogBytes, null);
    }

    /**
     * @param from for a sink without a cursor yet: the sink whose position it starts at (see
     *             {@link io.brokkr.api.storage.MessageSink#START_FROM}), or null for the end of the journal
     */
    SinkRunner(String name, Journal journal, List<String> topics, long maxBacklogBytes, String from) {
        this.name = name;
        this.journal = journal;
        this.cursor = journal.cursor(name, from);
        setTopics(topics);
        this.maxBacklogBytes = maxBacklogBytes;
        cursor.onAvailable(() -> {
            available = true; // before reading idle; awaitData sets idle before reading available: no lost wake-up
            if (idle) {
                synchronized (signal) {
                    signal.notifyAll();
                }
            }
        });
    }

    String name() {
        return name;
    }

    List<String> topics() {
        return topics;
    }

    long maxBacklogBytes() {
        return maxBacklogBytes;
    }

    void configure(List<String> topics, long maxBacklogBytes) {
        setTopics(topics);
        this.maxBacklogBytes = maxBacklogBytes;
    }

    private void setTopics(List<String> topics) {
        List<String> copy = List.copyOf(topics);
        @SuppressWarnings("unchecked")
        Predicate<String>[] ms = new Predicate[copy.size()];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = Topics.matcher(copy.get(i));
        }
        this.matchers = ms;
        this.topics = copy;
    }

    /** Whether one of the sink's filters matches {@code topic}: publisher's loop (for every message) and sink thread. */
    boolean matches(String topic) {
        List<String> fs = topics;
        if (fs.size() == 1 && fs.get(0).equals("#")) {
            return topic.isEmpty() || topic.charAt(0) != '$'; // [MQTT-4.7.2-1], as Topics.matches
        }
        for (Predicate<String> m : matchers) {
            if (m.test(topic)) {
                return true;
            }
        }
        return false;
    }

    boolean overBacklog() {
        return cursor.backlogBytes() > maxBacklogBytes;
    }

    void skipped() {
        skipped.increment();
    }

    synchronized boolean attached() {
        return sink != null;
    }

    /** A service with this sink's name is (re)registered: (re)start the thread for it. */
    synchronized void attach(MessageSink s, int batchSize, long lingerMillis) {
        if (closed) {
            return;
        }
        boolean same = s == sink;
        this.batchSize = batchSize;
        this.lingerMillis = lingerMillis;
        if (same && thread != null) {
            return; // properties changed: the thread reads them at its next batch
        }
        stopThread();
        sink = s;
        startThread();
    }

    synchronized void detach(MessageSink s) {
        if (sink != s) {
            return;
        }
        stopThread();
        sink = null;
        LOG.info("Sink {} is offline: its messages wait in the journal ({} records)", name, cursor.backlogRecords());
    }

    /** Whether the sink was stopped from the shell ({@code mqtt:connector-stop}); kept across restarts. */
    synchronized boolean paused() {
        return paused;
    }

    synchronized void setPaused(boolean p) {
        if (paused == p) {
            return;
        }
        paused = p;
        if (p) {
            stopThread();
            LOG.info("Sink {} stopped: its messages wait in the journal", name);
        } else {
            startThread();
            LOG.info("Sink {} started", name);
        }
    }

    synchronized void close() {
        closed = true;
        stopThread();
        cursor.onAvailable(null);
    }

    private void startThread() {
        if (sink == null || paused || closed || thread != null) {
            return;
        }
        MessageSink s = sink;
        Thread t = new Thread(() -> run(s), "brokkr-sink-" + name);
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /**
     * Stops the thread and waits for it; a batch it had not committed is read again by the next thread. The thread is
     * woken, never interrupted: an interrupt during a journal read would close the journal's file channel.
     */
    private void stopThread() {
        Thread t = thread;
        thread = null;
        if (t == null) {
            return;
        }
        wake();
        try {
            t.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            LOG.warn("Sink {}: its thread did not stop within 10 s", name);
        }
    }

    /** Tests only: runs on a sink thread at the top of each turn of its loop, after it saw it should go on. */
    static volatile Runnable beforeBatch;

    /** Unsynchronized: {@link #stopThread} waits for the thread while holding this object's monitor. */
    private boolean current(Thread t) {
        return thread == t && !closed;
    }

    private void run(MessageSink s) {
        Thread me = Thread.currentThread();
        cursor.rewind(); // whatever an earlier thread read but did not commit is read again
        long backoff = MIN_BACKOFF_MILLIS;
        try {
            while (current(me)) {
                Runnable hook = beforeBatch;
                if (hook != null) {
                    hook.run();
                }
                int max = batchSize;
                long linger = lingerMillis;
                List<JournalRecord> recs = cursor.poll(max, MAX_BATCH_BYTES);
                if (recs.isEmpty()) {
                    awaitData();
                    continue;
                }
                if (recs.size() < max && linger > 0) {
                    pause(linger, me);
                    List<JournalRecord> more = cursor.poll(max - recs.size(), MAX_BATCH_BYTES);
                    if (!more.isEmpty()) {
                        recs = new ArrayList<>(recs);
                        recs.addAll(more);
                    }
                }
                long last = recs.get(recs.size() - 1).sequence();
                List<SinkRecord> batch = records(recs);
                if (batch.isEmpty()) {
                    cursor.commit(last);
                    continue;
                }
                while (true) {
                    try {
                        if (!await(s.write(batch).toCompletableFuture(), me)) {
                            return; // stopped while writing: the batch is read again by the next thread
                        }
                        cursor.commit(last);
                        written.add(batch.size());
                        lastWriteTime = System.currentTimeMillis();
                        if (failedInRow > 0) {
                            LOG.info("Sink {} writes again after {} failed attempts", name, failedInRow);
                        }
                        failedInRow = 0;
                        backoff = MIN_BACKOFF_MILLIS;
                        break;
                    } catch (ExecutionException | TimeoutException | RuntimeException e) {
                        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                        String msg = cause instanceof TimeoutException
                                ? "write did not complete within " + WRITE_TIMEOUT_MILLIS + " ms"
                                : String.valueOf(cause.getMessage() != null ? cause.getMessage() : cause);
                        lastError = msg;
                        retries.increment();
                        failedInRow++;
                        if (failedInRow == 1 || failedInRow % 20 == 0) {
                            LOG.warn("Sink {}: write of {} records failed (attempt {}), retrying in {} ms: {}", name,
                                    batch.size(), failedInRow, backoff, msg);
                        }
                        pause(backoff, me);
                        backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
                        if (!current(me)) {
                            return;
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            // stopped: the batch not committed is read again by the next thread
        } catch (RuntimeException | Error e) {
            lastError = String.valueOf(e);
            LOG.error("Sink {}: its thread failed: {}", name, e.toString(), e);
        }
    }

    /** Waits for a write, waking every 100 ms to see whether this thread was stopped (false then). */
    private boolean await(java.util.concurrent.CompletableFuture<?> f, Thread me)
            throws ExecutionException, TimeoutException, InterruptedException {
        long deadline = System.currentTimeMillis() + WRITE_TIMEOUT_MILLIS;
        while (true) {
            try {
                f.get(100, TimeUnit.MILLISECONDS);
                return true;
            } catch (TimeoutException notYet) {
                if (!current(me)) {
                    return false;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw notYet;
                }
            }
        }
    }

    /**
     * Sleeps for {@code millis}, or less if this thread is stopped meanwhile ({@link #wake()}); new journal records
     * do not shorten it (a back-off must last its time).
     */
    private void pause(long millis, Thread me) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        synchronized (signal) {
            long left;
            while (current(me) && (left = deadline - System.nanoTime()) > 0) {
                signal.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    private void wake() {
        synchronized (signal) {
            available = true;
            signal.notifyAll();
        }
    }

    private void awaitData() throws InterruptedException {
        synchronized (signal) {
            idle = true;
            try {
                if (!available) {
                    signal.wait(1000);
                }
            } finally {
                idle = false;
            }
            available = false;
        }
    }

    private List<SinkRecord> records(List<JournalRecord> recs) {
        List<SinkRecord> out = new ArrayList<>(recs.size());
        for (JournalRecord r : recs) {
            JournalCodec.Entry e;
            try {
                String topic = JournalCodec.topic(r.body());
                if (!matches(topic)) {
                    continue; // not decoded further
                }
                e = JournalCodec.decode(r.body(), topic); // the topic is decoded once
            } catch (IllegalArgumentException bad) {
                LOG.error("Sink {}: journal record {} cannot be read, skipped: {}", name, r.sequence(), bad.getMessage());
                continue;
            }
            out.add(new SinkRecord(journal.recordId(r.sequence()), r.sequence(), e.message(), e.username()));
        }
        return out;
    }

    SinkInfo info() {
        String state;
        synchronized (this) {
            state = sink == null ? "offline" : paused ? "stopped" : failedInRow > 0 ? "retrying" : "running";
        }
        return new SinkInfo(name, state, topics, written.sum(), cursor.backlogRecords(), cursor.backlogBytes(),
                retries.sum(), failedInRow, skipped.sum(), lastError, lastWriteTime);
    }
}
