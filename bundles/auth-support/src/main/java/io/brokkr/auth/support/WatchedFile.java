package io.brokkr.auth.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A configuration file of an auth provider (a password file, an ACL file, a rules file) and what was read from it.
 * The file is polled every few seconds and re-read when its modification time, size or identity (inode, after an
 * atomic replace) changed; a file that cannot be read or does not parse keeps what was read before in force (the
 * reason is logged and kept in {@link #lastError()}). Until a file was read, {@link #current()} is the empty value.
 * Readers of {@link #current()} (network threads) never wait: it is a volatile read.
 *
 * @param <T> what the file holds once read (immutable)
 */
public final class WatchedFile<T> implements AutoCloseable {

    /** Reads the file. An exception other than an {@link IOException} or a RuntimeException means it does not parse. */
    @FunctionalInterface
    public interface Reader<T> {
        T read(Path file) throws Exception;
    }

    private final Logger log;
    private final String what;
    private final T empty;
    private final Reader<T> reader;
    private final Function<T, String> count;
    private final Supplier<String> whileEmpty;
    private final ScheduledExecutorService poller;

    private volatile Path file;
    private volatile T current;
    /** The state of the file last looked at (read well or not), to notice the next change; -2: it did not exist. */
    private volatile Object seenKey;
    private volatile long seenMtime = Long.MIN_VALUE;
    private volatile long seenSize = -1;
    private volatile String lastError;
    private final AtomicInteger loads = new AtomicInteger();
    private ScheduledFuture<?> reloadTask;

    /**
     * @param log        the provider's logger
     * @param what       the file's kind in log lines, e.g. "ACL file"
     * @param threadName the polling thread's name
     * @param empty      in force until a file was read
     * @param reader     reads the file
     * @param count      what a value holds, e.g. "3 user(s)", for the log
     * @param whileEmpty what a missing file means while nothing was read yet, e.g. "nothing is granted"
     */
    public WatchedFile(Logger log, String what, String threadName, T empty, Reader<T> reader,
                       Function<T, String> count, Supplier<String> whileEmpty) {
        this.log = log == null ? LoggerFactory.getLogger(WatchedFile.class) : log;
        this.what = what;
        this.empty = empty;
        this.current = empty;
        this.reader = reader;
        this.count = count;
        this.whileEmpty = whileEmpty;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * A configured file name with {@code ${karaf.etc}} replaced by the system property {@code karaf.etc} (or
     * {@code etc} without it).
     */
    public static Path resolve(String configured) {
        String f = configured.trim();
        if (f.contains("${karaf.etc}")) {
            String etc = System.getProperty("karaf.etc");
            f = f.replace("${karaf.etc}", etc != null ? etc : "etc");
        }
        return Paths.get(f);
    }

    /**
     * Watches {@code newFile} (what was read from another file before is dropped), reads it now and then checks it
     * every {@code reloadMillis}.
     */
    public void watch(Path newFile, long reloadMillis) {
        synchronized (this) {
            if (!newFile.equals(file)) {
                file = newFile;
                current = empty;
                seenKey = null;
                seenMtime = Long.MIN_VALUE;
                seenSize = -1;
            }
        }
        reloadNow();
        schedule(Math.max(1, reloadMillis));
    }

    private synchronized void schedule(long millis) {
        if (reloadTask != null) {
            reloadTask.cancel(false); // the one of the previous configuration
        }
        reloadTask = poller.scheduleWithFixedDelay(this::reloadIfChanged, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** The file watched (null before {@link #watch}). */
    public Path file() {
        return file;
    }

    /** What is in force: the last good read, or the empty value. */
    public T current() {
        return current;
    }

    /** How many times the file was read successfully. */
    public int loads() {
        return loads.get();
    }

    /** Why the last read of the file failed, or null if it succeeded. */
    public String lastError() {
        return lastError;
    }

    /** Re-reads the file if its modification time, size or identity changed since it was last looked at. */
    public void reloadIfChanged() {
        Path f = file;
        if (f == null) {
            return;
        }
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            if (a.lastModifiedTime().toMillis() == seenMtime && a.size() == seenSize
                    && Objects.equals(a.fileKey(), seenKey)) {
                return;
            }
        } catch (NoSuchFileException e) {
            if (seenSize == -2) {
                return; // already reported
            }
        } catch (IOException | RuntimeException e) {
            log.warn("{} {}: {}", what, f, e.toString());
            return;
        }
        reloadNow();
    }

    /** Reads the file now (after a change a shell command made, say); keeps what is in force if that fails. */
    public synchronized void reloadNow() {
        Path f = file;
        if (f == null) {
            return;
        }
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            seenKey = a.fileKey();
            seenMtime = a.lastModifiedTime().toMillis();
            seenSize = a.size();
            T read = reader.read(f);
            current = read;
            lastError = null;
            loads.incrementAndGet();
            log.info("{} {}: {} in force", what, f, count.apply(read));
        } catch (NoSuchFileException e) {
            seenSize = -2;
            lastError = "no such file";
            log.warn("{} {} does not exist: {}", what, f, current == empty ? whileEmpty.get()
                    : "the " + count.apply(current) + " read before stay in force");
        } catch (IOException | RuntimeException e) {
            lastError = e.toString();
            log.error("{} {} could not be read: {}; the {} read before stay in force", what, f, e.toString(),
                    count.apply(current));
        } catch (Exception e) {
            lastError = e.getMessage();
            log.error("{} {} not loaded, {}; the {} read before stay in force", what, f, e.getMessage(),
                    count.apply(current));
        }
    }

    /** Stops the polling. */
    @Override
    public void close() {
        poller.shutdownNow();
    }
}
