package io.brokkr.broker.persistence;

import io.brokkr.api.JournalInfo;
import io.brokkr.api.Message;
import io.brokkr.api.SinkInfo;
import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.RecordFormat;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.topic.Topics;
import io.brokkr.journal.AppendListener;
import io.brokkr.journal.Journal;
import io.brokkr.journal.JournalConfig;
import io.brokkr.journal.JournalFullException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable hand-off between the router and the message sinks: owns the journal and the sinks the broker knows.
 *
 * <p>{@link #append} runs on the publisher's event loop: a message that some known sink's filters match is written
 * once to the journal, and the returned future completes when it is on disk (the publisher's PUBACK/PUBREC waits for
 * it). Each sink reads the journal from its own cursor (named after the sink) on its own thread ({@link SinkRunner}).
 *
 * <p>Sinks are known by name and remembered in {@code sinks.properties} next to the journal: a sink whose service goes
 * away (bundle stopped, updated, uninstalled) stays known as {@code offline}, messages for it keep going into the
 * journal, and when a service with the same name comes back it continues from its position. Only
 * {@link #remove(String)} forgets a sink. Thread-safe; the list of sinks is a copy-on-write array read by
 * {@link #append} without locks.
 *
 * <p><b>Sync policy</b> ({@code journal.fsync}): with {@code always} the future of {@link #append} completes when the
 * record is forced to disk; with {@code interval} when it is written to the segment file (the journal forces the file
 * every {@code journal.fsync.interval.ms}). <b>Disk bound</b> ({@code journal.max.bytes}): when the journal is full
 * an append fails at once with {@link JournalFullException} ({@link #isFull}); a QoS 0 message is then skipped for
 * its sinks (counted), a QoS 1/2 message is refused (the publisher is told so and sends it again later). A log line
 * names the bound and the sink with the biggest backlog, at most every {@value #FULL_LOG_INTERVAL_MILLIS} ms.
 */
public final class SinkHub implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SinkHub.class);
    static final String REGISTRY = "sinks.properties";
    /** The registry key suffix of a sink stopped from the shell. */
    private static final String STOPPED = ".stopped";
    public static final long DEFAULT_MAX_BACKLOG_BYTES = 256L * 1024 * 1024;
    /** The journal's disk bound when {@code journal.max.bytes} is not set, unless half the free space is less. */
    public static final long DEFAULT_MAX_BYTES = 10L << 30;
    static final long FULL_LOG_INTERVAL_MILLIS = 10_000;

    private final Path dir;
    private final BrokerConfig config;
    /** The disk bound the journal was opened with (0: none). */
    private volatile long maxBytes;
    private final LongAdder refused = new LongAdder();
    private final LongAdder skippedFull = new LongAdder();
    /** The last append for the sinks was refused because the journal was full. */
    private volatile boolean full;
    /** When the journal was last logged as full (epoch millis; 0: never). */
    private final AtomicLong lastFullLog = new AtomicLong();
    private volatile Journal journal;
    private volatile SinkRunner[] sinks = new SinkRunner[0];
    private final Map<String, SinkRunner> byName = new TreeMap<>();
    private volatile boolean closed;

    private SinkHub(Path dir, BrokerConfig config) {
        this.dir = dir;
        this.config = config;
    }

    /** The journal directory for a configured value (null: Karaf's data directory, else {@code data/journal}). */
    public static Path resolveDir(String configured) {
        if (configured != null) {
            return Path.of(configured);
        }
        String karafData = System.getProperty("karaf.data");
        return karafData != null ? Path.of(karafData, "brokkr", "journal") : Path.of("data", "journal");
    }

    /**
     * Opens the hub if its directory holds known sinks (so that messages for offline sinks are journalled from the
     * start), else returns an empty hub that opens the journal when the first sink comes. The journal's sync policy
     * and disk bound come from {@code config} ({@code journal.fsync}, {@code journal.fsync.interval.ms},
     * {@code journal.max.bytes}).
     */
    public static SinkHub open(Path dir, BrokerConfig config) throws IOException {
        SinkHub hub = new SinkHub(dir, config);
        Path reg = dir.resolve(REGISTRY);
        if (Files.exists(reg)) {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(reg)) {
                p.load(in);
            }
            hub.ensureJournal();
            for (String key : p.stringPropertyNames()) {
                if (key.endsWith(".topics")) {
                    String name = key.substring(0, key.length() - ".topics".length());
                    long maxBacklog = parseLong(p.getProperty(name + ".max.backlog.bytes"), DEFAULT_MAX_BACKLOG_BYTES);
                    SinkRunner r = new SinkRunner(name, hub.journal, RecordFormat.split(p.getProperty(key)),
                            maxBacklog);
                    if (Boolean.parseBoolean(p.getProperty(name + STOPPED))) {
                        r.setPaused(true);
                    }
                    hub.byName.put(name, r);
                }
            }
            hub.publishList();
            LOG.info("Sink journal {}: {} known sink(s) {}", dir, hub.byName.size(), hub.byName.keySet());
        }
        return hub;
    }

    private void ensureJournal() throws IOException {
        if (journal == null) {
            Files.createDirectories(dir);
            long max = config.journalMaxBytes();
            if (max == BrokerConfig.JOURNAL_MAX_BYTES_DEFAULT) {
                max = defaultMaxBytes(dir);
            }
            JournalConfig.Builder b = JournalConfig.builder(dir).maxDiskBytes(max);
            if (max > 0) {
                // segments are deleted whole: keep one well below the bound (64 MiB from a bound of 512 MiB up)
                b.segmentBytes(Math.max(64L << 10, Math.min(JournalConfig.DEFAULT_SEGMENT_BYTES, max / 8)));
            }
            if (BrokerConfig.JOURNAL_FSYNC_INTERVAL.equals(config.journalFsync())) {
                b.forceInterval(Duration.ofMillis(config.journalFsyncIntervalMs()));
            }
            journal = Journal.open(b.build());
            maxBytes = max;
        }
    }

    /**
     * The bound when {@code journal.max.bytes} is not set: {@value #DEFAULT_MAX_BYTES} bytes, or half of what the
     * journal's file system has usable for it (its free space plus the journal's own files), whichever is smaller.
     * Half, so that the journal is refused before the disk is full: a write failing for lack of space would stop the
     * journal until a restart, and the rest of the broker (logs, Karaf's data) needs the disk too.
     */
    static long defaultMaxBytes(Path dir) throws IOException {
        long own = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    own += Files.size(f);
                }
            }
        }
        long usable = Files.getFileStore(dir).getUsableSpace() + own;
        return Math.max(1L << 20, Math.min(DEFAULT_MAX_BYTES, usable / 2));
    }

    public Path dir() {
        return dir;
    }

    /** The journal, or null before the first sink. */
    public synchronized Journal journal() {
        return journal;
    }

    /**
     * A sink service registered (or its properties changed). Starts feeding it from its position.
     *
     * @throws IllegalArgumentException if a property is invalid (the message names it)
     */
    public synchronized void bind(String name, MessageSink sink, Map<String, ?> props) throws IOException {
        if (closed) {
            return;
        }
        List<String> topics = RecordFormat.split(props.get(MessageSink.TOPICS));
        if (topics.isEmpty()) {
            topics = List.of("#");
        }
        for (String f : topics) {
            String err = Topics.validateTopicFilter(f);
            if (err != null) {
                throw new IllegalArgumentException("sink " + name + ": invalid " + MessageSink.TOPICS + " filter '" + f
                        + "': " + err);
            }
        }
        int batchSize = (int) number(props, MessageSink.BATCH_SIZE, 500, 1, 100_000);
        long linger = number(props, MessageSink.BATCH_LINGER_MS, 5, 0, 60_000);
        long maxBacklog = number(props, MessageSink.MAX_BACKLOG_BYTES, DEFAULT_MAX_BACKLOG_BYTES, 0, Long.MAX_VALUE);
        ensureJournal();
        SinkRunner r = byName.get(name);
        if (r == null) {
            Object f = props.get(MessageSink.START_FROM);
            String from = f == null || f.toString().isBlank() ? null : f.toString().trim();
            if (from != null && !byName.containsKey(from)) {
                throw new IllegalArgumentException("sink " + name + ": " + MessageSink.START_FROM + " names no known sink: '"
                        + from + "' (see mqtt:connectors)");
            }
            r = new SinkRunner(name, journal, topics, maxBacklog, from);
            byName.put(name, r);
            if (from == null) {
                LOG.info("Sink {} is new: it gets the messages on {} from now on", name, topics);
            } else {
                LOG.info("Sink {} is new: it starts at the position of sink {} ({} records behind)", name, from,
                        r.info().pendingRecords());
            }
        } else {
            r.configure(topics, maxBacklog);
        }
        saveRegistry();
        publishList();
        r.attach(sink, batchSize, linger);
    }

    /** A sink service went away: the sink stays known (offline) and its messages wait in the journal. */
    public synchronized void unbind(String name, MessageSink sink) {
        SinkRunner r = byName.get(name);
        if (r != null) {
            r.detach(sink);
        }
    }

    /**
     * Pauses or resumes a sink (shell). The pause is remembered in {@code sinks.properties}: a sink stopped before a
     * broker restart stays stopped after it, until it is started again.
     */
    public synchronized boolean setRunning(String name, boolean running) {
        SinkRunner r = byName.get(name);
        if (r == null) {
            return false;
        }
        r.setPaused(!running);
        try {
            saveRegistry();
        } catch (IOException e) {
            LOG.warn("Sink {}: could not remember that it is {} in {}: {}; after a restart it runs", name,
                    running ? "started" : "stopped", dir.resolve(REGISTRY), e.toString());
        }
        return true;
    }

    /** Forgets a sink whose service is gone: its cursor is dropped and its backlog released. */
    public synchronized boolean remove(String name) {
        SinkRunner r = byName.get(name);
        if (r == null) {
            return false;
        }
        if (r.attached()) {
            throw new IllegalStateException("sink " + name + " is registered: stop or uninstall its connector first");
        }
        byName.remove(name);
        r.close();
        journal.dropCursor(name);
        try {
            saveRegistry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        publishList();
        LOG.info("Sink {} removed; its backlog is released", name);
        return true;
    }

    /** The journal's state for {@code mqtt:connectors}, or null before the first sink. */
    public JournalInfo journalInfo() {
        Journal j = journal;
        if (j == null) {
            return null;
        }
        SinkRunner biggest = biggestBacklog();
        return new JournalInfo(dir.toString(), config.journalFsync(), config.journalFsyncIntervalMs(), j.usedBytes(),
                maxBytes, full, refused.sum(), skippedFull.sum(), biggest == null ? null : biggest.name());
    }

    private SinkRunner biggestBacklog() {
        SinkRunner biggest = null;
        long most = -1;
        for (SinkRunner r : sinks) {
            long b = r.info().pendingBytes();
            if (b > most) {
                most = b;
                biggest = r;
            }
        }
        return biggest;
    }

    /** Whether {@code e} (a failed {@link #append} future's cause) means the journal is full, not broken. */
    public static boolean isFull(Throwable e) {
        Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return t instanceof JournalFullException;
    }

    public List<SinkInfo> infos() {
        List<SinkInfo> out = new ArrayList<>();
        for (SinkRunner r : sinks) {
            out.add(r.info());
        }
        return out;
    }

    /**
     * Runs on the publisher's thread. Writes the message to the journal if a sink takes it and returns the future of
     * its write (completing when it is journalled, see the sync policy); null if no sink takes it (or every sink that
     * matches is over its backlog bound and the message is QoS 0: then it is counted as skipped for them). When the
     * journal is full a QoS 0 message is skipped for its sinks (null, counted) and a QoS 1/2 message gets a future
     * failed with {@link JournalFullException} (see {@link #isFull}). Never blocks.
     */
    public CompletableFuture<Long> append(Message m, String username) {
        if (m.qos() > 0) {
            return append(m, username, JournalFuture::new); // refusals and failures are handled there, once
        }
        SinkRunner[] list = sinks;
        if (list.length == 0) {
            return null;
        }
        boolean any = false;
        List<SinkRunner> over = null;
        for (SinkRunner r : list) {
            if (!r.matches(m.topic())) {
                continue;
            }
            if (r.overBacklog()) {
                if (over == null) {
                    over = new ArrayList<>(2);
                }
                over.add(r);
                continue;
            }
            any = true;
        }
        if (!any) {
            if (over != null) {
                for (SinkRunner r : over) {
                    r.skipped();
                }
            }
            return null;
        }
        Journal j = journal;
        if (j == null) {
            return CompletableFuture.failedFuture(new IOException("journal closed"));
        }
        CompletableFuture<Long> f = j.append(JournalCodec.encode(m, username));
        if (f.isCompletedExceptionally()) {
            Throwable e = f.handle((v, t) -> t).getNow(null);
            if (isFull(e)) {
                journalFull(e);
                skippedFull.increment();
                for (SinkRunner r : list) {
                    if (r.matches(m.topic())) {
                        r.skipped();
                    }
                }
                return null;
            }
        } else if (full) {
            takesAgain(j);
        }
        return f;
    }

    /** The future of {@link #append(Message, String)} for a QoS 1/2 message: the listener form's listener. */
    private static final class JournalFuture extends CompletableFuture<Long> implements AppendListener {
        @Override
        public void appended(long sequence) {
            complete(sequence);
        }

        @Override
        public void appendFailed(Throwable error) {
            completeExceptionally(error);
        }
    }

    /**
     * The form of {@link #append(Message, String)} for a QoS 1/2 message whose acknowledgement waits for the journal:
     * no future. If a sink takes the message, a listener from {@code listeners} is made, given to the journal and
     * returned; it is told when the record is journalled (see the sync policy) or why not, once, on the journal's
     * writer thread, or at once on this thread if the journal refused it (full: a {@link JournalFullException};
     * closed or failed). Runs on the publisher's thread; never blocks.
     *
     * @return the listener, or null if no sink takes the message (then none is made)
     */
    public <L extends AppendListener> L append(Message m, String username, Supplier<L> listeners) {
        return append(m, username, listeners, (LoopBatch) null);
    }

    /**
     * {@link #append(Message, String, Supplier)} from an event loop's pass: the record goes into the loop's
     * {@code batch}, which its owner hands to the journal at the end of the pass ({@link #submit}), with one hand-off
     * for all of the pass's records; the listener is told on the batch's loop, in one task with the other records of
     * the loop that the writer wrote together. A refusal is told at once, on this thread, as before.
     *
     * @param batch the calling loop's, from {@link #loopBatch}; null: appended alone, the writer woken at once
     */
    public <L extends AppendListener> L append(Message m, String username, Supplier<L> listeners, LoopBatch batch) {
        SinkRunner[] list = sinks;
        boolean any = false;
        for (SinkRunner r : list) {
            if (r.matches(m.topic())) {
                any = true; // QoS 1/2: never skipped for a sink's backlog bound
                break;
            }
        }
        if (!any) {
            return null;
        }
        L listener = listeners.get();
        Journal j = journal;
        if (j == null) {
            listener.appendFailed(new IOException("journal closed"));
            return listener;
        }
        byte[] body = JournalCodec.encode(m, username);
        Throwable e;
        if (batch == null) {
            e = j.append(body, listener);
        } else {
            if (batch.journal != j) { // the first record of this loop, or the journal was replaced
                batch.submit();
                batch.journal = j;
                batch.records = j.batch(batch.loop);
            }
            e = batch.records.add(body, listener);
        }
        if (e != null) {
            if (isFull(e)) {
                journalFull(e);
                refused.increment();
            }
            listener.appendFailed(e);
        } else if (full) {
            takesAgain(j);
        }
        return listener;
    }

    /**
     * The records one event loop appends in a pass: the loop's owner (the broker) keeps one per loop, appends with it
     * and calls {@link #submit} at the end of each pass. Used by that loop only.
     */
    public static final class LoopBatch {
        private final Executor loop;
        private Journal journal;
        private Journal.AppendBatch records;

        private LoopBatch(Executor loop) {
            this.loop = loop;
        }

        /**
         * Hands this pass's records to the journal: with {@code journal.fsync = interval} usually written by this loop
         * at once, else by the journal's writer thread, which is woken (see {@link Journal.AppendBatch#submit()}).
         */
        public void submit() {
            if (records != null) {
                records.submit();
            }
        }
    }

    /** A batch for the event loop {@code loop} (see {@link LoopBatch}). */
    public static LoopBatch loopBatch(Executor loop) {
        return new LoopBatch(loop);
    }

    /** An append succeeded after the journal had been full: logs the end of the refusals. */
    private void takesAgain(Journal j) {
        full = false;
        LOG.info("Sink journal {} takes messages again ({} of {} bytes used); {} QoS 1/2 messages were refused and "
                + "{} QoS 0 messages skipped while it was full (since start)", dir, j.usedBytes(), maxBytes,
                refused.sum(), skippedFull.sum());
    }

    /** The journal refused an append for being full: logs it, at most every {@value #FULL_LOG_INTERVAL_MILLIS} ms. */
    private void journalFull(Throwable e) {
        full = true;
        long now = System.currentTimeMillis();
        long last = lastFullLog.get();
        if (now - last < FULL_LOG_INTERVAL_MILLIS || !lastFullLog.compareAndSet(last, now)) {
            return;
        }
        SinkRunner biggest = biggestBacklog();
        SinkInfo b = biggest == null ? null : biggest.info();
        LOG.warn("Sink journal {} is full ({} of journal.max.bytes = {} bytes used: {}): QoS 1/2 messages for the sinks "
                + "are refused (MQTT 5: 0x97 Quota exceeded; 3.1.1: connection closed unacknowledged) and QoS 0 "
                + "messages skipped until sinks catch up; biggest backlog: {}", dir, journal.usedBytes(), maxBytes,
                e.getMessage(), b == null ? "none" : "sink " + b.name() + " (" + b.state() + ", " + b.pendingRecords()
                        + " records, " + b.pendingBytes() + " bytes)");
    }

    private void publishList() {
        sinks = byName.values().toArray(new SinkRunner[0]);
    }

    private void saveRegistry() throws IOException {
        Properties p = new Properties();
        for (SinkRunner r : byName.values()) {
            p.setProperty(r.name() + ".topics", String.join(",", r.topics()));
            p.setProperty(r.name() + ".max.backlog.bytes", Long.toString(r.maxBacklogBytes()));
            if (r.paused()) {
                p.setProperty(r.name() + STOPPED, "true");
            }
        }
        Files.createDirectories(dir);
        Path tmp = dir.resolve(REGISTRY + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            p.store(out, "Brokkr: the message sinks this broker journals for (remove one with mqtt:connector-remove)");
        }
        Files.move(tmp, dir.resolve(REGISTRY), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Stops every sink thread (a write in progress is finished or abandoned; it is repeated after a restart). */
    @Override
    public synchronized void close() {
        closed = true;
        for (SinkRunner r : byName.values()) {
            r.close();
        }
        sinks = new SinkRunner[0];
        if (journal != null) {
            journal.close();
        }
    }

    private static long number(Map<String, ?> props, String key, long def, long min, long max) {
        Object v = props.get(key);
        if (v == null || v.toString().isBlank()) {
            return def;
        }
        long n;
        try {
            n = v instanceof Number num ? num.longValue() : Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, was '" + v + "'");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(key + " must be between " + min + " and " + max + ", was " + n);
        }
        return n;
    }

    private static long parseLong(String s, long def) {
        try {
            return s == null ? def : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return def;
        }
    }
}
