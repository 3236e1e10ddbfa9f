package io.brokkr.journal;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded append-only disk journal.
 *
 * <p><b>Appending.</b> {@link #append} never blocks: it puts the record on a bounded multi-producer queue and returns a
 * future. One writer thread drains the queue in batches (group commit): it assigns the sequences, writes the batch
 * with one {@link FileChannel#write} per segment touched (more only if the batch outgrows its 1 MiB buffer), has
 * {@code force(false)} called once for it, and then completes the batch's futures with their sequences. A completed
 * future means the record is on disk (with a force interval: written to the file, see below). The forces run on helper threads, at most {@value #MAX_FORCES_IN_FLIGHT} at a
 * time: while one batch is being forced, the writer writes the next one and starts its force, so that a record
 * waits for about one force instead of the rest of the previous batch's plus its own (a force covers everything
 * written before it started, so batches complete in order, each as soon as its own or a later force returned). The
 * futures complete on the writer thread: dependent actions must be short and must not block (hand work to another
 * executor, e.g. with {@code thenRunAsync} or an event loop's {@code execute}). With a force interval, a
 * {@link #batch(Executor) batch} with a completion executor is usually written by the thread that submits it instead
 * (under the lock that the writer thread holds while it writes; never waiting for it): see
 * {@link AppendBatch#submit()}.
 *
 * <p><b>Force interval.</b> With a positive {@link JournalConfig#forceInterval()} a batch completes as soon as its
 * write returned (the records are in the operating system's page cache, in the segment file): no force waits in the
 * append path. The writer has the active segment forced every {@code forceInterval} when something was written
 * since the last force (on a helper thread, one at a time), forces a segment before rolling to the next one, and
 * forces the active one at close. A crash of the process (even {@code kill -9}) loses nothing that completed; a power
 * loss or kernel crash may lose what completed since the last force. Readers see the same thing in both modes:
 * records whose write returned and that completed, never what is still in the writer's buffer.
 *
 * <p><b>Disk bound.</b> With a positive {@link JournalConfig#maxDiskBytes()} an append fails at once with
 * {@link JournalFullException} while the segment files plus the records queued for the writer would pass it; it
 * succeeds again once cursors committed and segments were released. When every record of the active segment is
 * released and the journal holds more than half its bound, the writer rolls and deletes it, so that a bound smaller
 * than a segment cannot keep the journal full for good.
 *
 * <p><b>Reading.</b> Each consumer has a named {@link Cursor} with a durable committed position; see there.
 *
 * <p><b>On disk</b> ({@link JournalConfig#dir()}): {@code lock} (a {@link FileLock} held while open),
 * {@code journal.id} (the {@link #id()}), {@code cursors} (cursor positions, replaced atomically: written to a
 * temporary file, forced, moved) and the segment files {@code <base sequence, 20 digits>.seg}. A segment holds the
 * records {@code base, base+1, ...} back to back, each {@code [int length][int crc32c][long sequence][body]}
 * (big-endian; the CRC-32C covers sequence and body). A segment is rolled (a new one started) before it would grow
 * past {@link JournalConfig#segmentBytes()}.
 *
 * <p><b>Recovery.</b> {@link #open} scans every segment; at the first record that is torn (cut short) or corrupt (bad
 * length, checksum or sequence) it truncates that segment there and logs a warning. Records after a torn tail were
 * never acknowledged (their force had not returned), so nothing acknowledged is lost by a crash.
 *
 * <p><b>Release.</b> A segment file other than the active one is deleted when every cursor's <em>saved</em>
 * committed position is at or past its last record. With no cursors every record is released at once: its segment is
 * deleted as soon as it is rolled, so the disk holds at most about one segment. The disk use is therefore bounded by
 * the slowest cursor's backlog plus one segment; drop a cursor whose consumer is gone ({@link #dropCursor}).
 *
 * <p><b>Sequences</b> start at 1, increase strictly and are never reused, also across reopen and after every segment
 * was deleted (the active segment, never deleted, is named by its base sequence; the cursors file keeps the last
 * sequence too).
 */
public final class Journal implements AutoCloseable {
  /** Bytes of a record header: length, crc32c, sequence. */
  static final int HEADER = 16;

  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  private static final String LOCK_FILE = "lock";
  private static final String ID_FILE = "journal.id";
  private static final String CURSORS_FILE = "cursors";
  private static final Pattern SEGMENT_NAME = Pattern.compile("\\d{20}\\.seg");
  private static final int CURSORS_MAGIC = 0x424a4355; // "BJCU"
  private static final int CURSORS_VERSION = 1;
  /** {@link #appenders}: the closed bit with no append in flight. */
  private static final int CLOSED = Integer.MIN_VALUE;
  private static final int WRITE_BUFFER_BYTES = 1 << 20;
  /** A poll reads at most this much in one go (but always one whole record). */
  private static final int MAX_POLL_READ = 4 << 20;
  /**
   * Batches written whose force has not returned yet, at most: the writer writes the next batch while the previous
   * one is being forced. Forces of the same file overlap on the device (measured on the 2-core VM, ext4: two threads
   * forcing one file reach 1.5 to 3.8 times the forces per second of one).
   */
  static final int MAX_FORCES_IN_FLIGHT = 2;

  private final JournalConfig config;
  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final String id;
  private final ConcurrentSkipListMap<Long, Segment> segments = new ConcurrentSkipListMap<>();
  private final ConcurrentHashMap<String, CursorImpl> cursors = new ConcurrentHashMap<>();
  /**
   * The values of {@link #cursors}, replaced under {@link #cursorLock} whenever a cursor is added or dropped: what the
   * writer walks after every write to tell the cursors (a map iterator there was a fifth of the writer's samples).
   */
  private volatile CursorImpl[] cursorArray = new CursorImpl[0];
  /** Guards the creation and removal of cursors against the writer's snapshot of them (no I/O under it). */
  private final Object cursorLock = new Object();
  /** Waiting for the writer: {@link Pending}s, and lists of them submitted by {@link AppendBatch#submit()}. */
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
  /**
   * Held while the writer state below is used: by the writer thread, and by an appending thread that writes its own
   * batch ({@link #writeOnAppender}).
   */
  private final ReentrantLock writeLock = new ReentrantLock();
  private final AtomicLong queuedBytes = new AtomicLong();
  /** Appends in flight (inside {@link #append}); the sign bit is set by {@link #close()}. */
  private final AtomicInteger appenders = new AtomicInteger();
  private final CountDownLatch closedLatch = new CountDownLatch(1);
  private final Thread writer;
  /** Runs the forces of the batches in {@link #inFlight}. */
  private final ExecutorService forcer;
  /** Tests only: runs on the force thread just before each batch's force. */
  volatile Runnable beforeForce;
  private final long saveIntervalNanos;
  /** {@link JournalConfig#forceInterval()} in nanoseconds; 0: every batch is forced before it completes. */
  private final long forceIntervalNanos;

  /**
   * The last completed sequence (published by the writer after each force, or after each write with a force
   * interval): what cursors may read.
   */
  private volatile long lastSequence;
  /** The last sequence known to be forced to disk. */
  private volatile long forcedSequence;
  /** Bytes in the retained segment files (written by the writer thread and at open). */
  private volatile long diskBytes;
  /** A periodic force (force interval) is running on a helper thread. */
  private volatile boolean periodicForceRunning;
  /** Set when a write or force failed: every later append fails with it (a failed fsync cannot be retried). */
  private volatile Throwable failure;
  private volatile boolean writerParked;
  private volatile boolean cursorsDirty;
  private volatile boolean closed;

  // writer state: under writeLock (the writer thread, or an appender in writeOnAppender)
  /** Batches written and handed to {@link #forcer}, oldest first, not completed yet. */
  private final ArrayDeque<Flight> inFlight = new ArrayDeque<>();
  private long nextSequence;
  private Segment active;
  private ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE_BUFFER_BYTES);
  private final CRC32C crc = new CRC32C();
  /** Records up to this sequence are released (from the last saved cursor positions). */
  private long releaseBound;
  /** When the last periodic force was started (force interval). */
  private long lastForceStart = System.nanoTime();

  // counters, written by the writer thread only
  private volatile long appends;
  private volatile long fsyncs;
  private volatile long bytesWritten;
  private volatile long cursorSaves;

  private Journal(JournalConfig config, FileChannel lockChannel, FileLock lock) throws IOException {
    this.config = config;
    this.dir = config.dir();
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.saveIntervalNanos = Math.max(config.cursorSaveInterval().toNanos(), 1_000_000L);
    this.forceIntervalNanos = config.forceInterval().isZero() ? 0 : Math.max(config.forceInterval().toNanos(), 1L);
    try (Stream<Path> tmp = Files.list(dir)) {
      for (Path p : (Iterable<Path>) tmp.filter(p -> p.getFileName().toString().endsWith(".tmp"))::iterator) {
        Files.deleteIfExists(p);
      }
    }
    this.id = loadOrCreateId();
    Map<String, Long> savedCursors = new TreeMap<>();
    long savedLast = loadCursors(savedCursors);
    recoverSegments(savedLast);
    forcedSequence = lastSequence; // recovered records were read back from the file, the scan forced a truncation
    long first = firstSequence();
    for (Map.Entry<String, Long> e : savedCursors.entrySet()) {
      long c = e.getValue();
      long clamped = Math.min(Math.max(c, first - 1), lastSequence);
      if (clamped != c) {
        LOG.warn("Journal {}: cursor '{}' was at {}, records on disk are {}..{}; it continues at {}", dir, e.getKey(),
            c, first, lastSequence, clamped);
      }
      cursors.put(e.getKey(), new CursorImpl(e.getKey(), clamped));
    }
    cursorArray = cursors.values().toArray(new CursorImpl[0]);
    releaseBound = cursors.isEmpty() ? lastSequence
        : cursors.values().stream().mapToLong(c -> c.committed).min().orElse(lastSequence);
    writer = new Thread(this::runWriter, "brokkr-journal-" + dir.getFileName());
    writer.setDaemon(true);
    String forceName = "brokkr-journal-force-" + dir.getFileName();
    forcer = Executors.newFixedThreadPool(MAX_FORCES_IN_FLIGHT, r -> {
      Thread t = new Thread(r, forceName);
      t.setDaemon(true);
      return t;
    });
    writer.start();
    LOG.info("Journal {} opened: id {}, records {}..{} in {} segment(s), {} bytes, cursors {}; {}{}", dir, id, first,
        lastSequence, segments.size(), diskBytes, cursors.keySet(), forceIntervalNanos == 0 ? "every batch forced"
            : "forced every " + config.forceInterval().toMillis() + " ms", config.maxDiskBytes() == 0 ? ""
            : ", at most " + config.maxDiskBytes() + " bytes on disk");
  }

  /**
   * Opens (creating it if needed) the journal in {@link JournalConfig#dir()}: takes the lock, recovers the segments
   * (truncating a torn tail) and the cursors, and starts the writer thread.
   *
   * @throws IOException if the directory is already open (by this JVM or another process: the message says which),
   *                     or cannot be read or written
   */
  public static Journal open(JournalConfig config) throws IOException {
    Path dir = config.dir();
    Files.createDirectories(dir);
    FileChannel lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      lockChannel.close();
      throw new IOException("journal " + dir + " is already open in this JVM (close the other Journal first)", e);
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
    if (lock == null) {
      lockChannel.close();
      throw new IOException("journal " + dir + " is locked by another process");
    }
    try {
      return new Journal(config, lockChannel, lock);
    } catch (IOException | RuntimeException | Error e) {
      try {
        lock.release();
      } finally {
        lockChannel.close();
      }
      throw e;
    }
  }

  /** @return the journal's id: a random UUID made when the directory was first used, the same after reopen */
  public String id() {
    return id;
  }

  /** @return the id of the record with this sequence, {@code id() + "-" + sequence}: unique across journals */
  public String recordId(long sequence) {
    return id + "-" + sequence;
  }

  /** @return the config the journal was opened with */
  public JournalConfig config() {
    return config;
  }

  /**
   * Appends a record. Never blocks: the record is queued for the writer thread, which writes and forces it with the
   * other records queued meanwhile. The returned future completes (on the writer thread) with the record's sequence
   * once it is forced to disk (with a {@link JournalConfig#forceInterval()}: once it is written to the segment file),
   * and fails with
   * <ul>
   *   <li>{@link JournalFullException} at once if {@link JournalConfig#maxQueuedBytes()} is reached, or if the
   *       segment files and the queued records would grow past {@link JournalConfig#maxDiskBytes()}: the journal
   *       applies backpressure by failing fast, the caller decides (retry later, drop, or slow its producer down);</li>
   *   <li>{@link JournalClosedException} if the journal is closed;</li>
   *   <li>an {@link IOException} if the write or the force failed (then every later append fails too);</li>
   *   <li>{@link IllegalArgumentException} if the body is larger than {@link JournalConfig#maxRecordBytes()}.</li>
   * </ul>
   * The body must not be modified after the call (it is written from the caller's array).
   */
  public CompletableFuture<Long> append(byte[] body) {
    Objects.requireNonNull(body, "body");
    Pending future = new Pending(body, null, null);
    Throwable e = enqueue(future);
    if (e != null) {
      future.completeExceptionally(e);
    }
    return future;
  }

  /**
   * Appends a record as {@link #append(byte[])} does, without a future: {@code listener} is told on the writer thread
   * when the record completed or failed (see {@link AppendListener}). The cheaper form for a caller that appends for
   * every message it handles.
   *
   * @return null if the record was queued (the listener is then called exactly once, later); else the exception the
   *     append failed with at once, for the same reasons as the future of {@link #append(byte[])} fails at once (a
   *     {@link JournalFullException}, a {@link JournalClosedException}, an {@link IOException} after a failed write,
   *     an {@link IllegalArgumentException} for a body over {@link JournalConfig#maxRecordBytes()}): then the listener
   *     is not called
   */
  public Throwable append(byte[] body, AppendListener listener) {
    Objects.requireNonNull(body, "body");
    Objects.requireNonNull(listener, "listener");
    return enqueue(new Pending(body, listener, null));
  }

  /**
   * Starts a batch of records that one thread appends together and hands to the writer at once (see
   * {@link AppendBatch}).
   *
   * @param completions where the records' listeners are told that they are in, or null for the writer thread: the
   *     writer hands the records of a written batch that share an executor to it in one task, which tells their
   *     listeners in sequence order ({@link AppendListener#appended}; a failure is still told on the writer thread,
   *     and if the executor refuses the task, the listeners are told on the writer thread too). For a caller that
   *     appends from an event loop and wants its completions back there: one hand-off per written batch instead of
   *     one per record, and the listeners' work runs on the thread that owns what they touch. With a force interval
   *     such a batch is usually written by the thread that submits it, without waking the writer thread (see
   *     {@link AppendBatch#submit()}); a failure of that write is told on that thread.
   */
  public AppendBatch batch(Executor completions) {
    return new AppendBatch(completions);
  }

  /**
   * Records that one thread appends together, e.g. every message that an event loop's pass takes for the sinks:
   * each is checked when it is {@link #add added} (refused at once, as by {@link #append(byte[], AppendListener)},
   * with the bounds counting the records added and not yet submitted), and {@link #submit()} hands all of them to the
   * writer with one hand-off and wakes it. Appending one record at a time took three contended atomic updates and a
   * queue insertion per record on the appending thread, about a fifth of an event loop's time with QoS 1 publishers
   * at full speed. Not thread-safe: one thread adds and submits. Reusable: after {@code submit()} it is empty.
   */
  public final class AppendBatch {
    private final Executor completions;
    private ArrayList<Pending> items = new ArrayList<>();
    private long bytes;
    /**
     * The size the next list of records starts with: the largest recent submission, decaying by an eighth per submit.
     * Sized like the last one alone, a pass of one record followed by one of a hundred grew the list ten times, which
     * was a tenth of an event loop's samples at full speed (JFR).
     */
    private int sizeHint = 16;

    private AppendBatch(Executor completions) {
      this.completions = completions;
    }

    /**
     * Adds a record. Its listener is told once, later (after {@link #submit()}), unless this returns an exception.
     *
     * @return null if the record was added; else why it is refused, for the same reasons as
     *     {@link #append(byte[], AppendListener)} (then the listener is not called)
     */
    public Throwable add(byte[] body, AppendListener listener) {
      Objects.requireNonNull(body, "body");
      Objects.requireNonNull(listener, "listener");
      if (appenders.get() < 0) {
        return new JournalClosedException("journal " + dir + " is closed");
      }
      long size = (long) body.length + HEADER;
      Throwable refused = refusal(body.length, queuedBytes.get() + bytes + size);
      if (refused != null) {
        return refused;
      }
      items.add(new Pending(body, listener, completions));
      bytes += size;
      return null;
    }

    /** Records added since the last {@link #submit()}. */
    public int size() {
      return items.size();
    }

    /**
     * Hands the records added since the last submit to the writer and wakes it. If the journal was closed or failed
     * since they were added, their listeners are told so ({@link AppendListener#appendFailed}), on this thread.
     *
     * <p>With a force interval and a completion executor this thread writes them itself (to the page cache; the
     * force stays on the helper thread) when no other thread is writing at that moment, together with what other
     * batches are queued, and the writer thread is not woken: see {@link #writeOnAppender()}. It never waits for a
     * lock or the disk's force here; a batch that would start a new segment is left to the writer thread.
     */
    public void submit() {
      if (items.isEmpty()) {
        return;
      }
      ArrayList<Pending> out = items;
      long b = bytes;
      sizeHint = Math.max(Math.max(out.size(), sizeHint - (sizeHint >> 3)), 16);
      items = new ArrayList<>(sizeHint);
      bytes = 0;
      Throwable refused = null;
      int s;
      do {
        s = appenders.get();
        if (s < 0) {
          refused = new JournalClosedException("journal " + dir + " is closed");
          break;
        }
      } while (!appenders.compareAndSet(s, s + 1));
      if (refused == null) {
        try {
          Throwable f = failure;
          if (f != null) {
            refused = new IOException("journal " + dir + " failed: " + f, f);
          } else {
            queuedBytes.addAndGet(b);
            boolean direct = completions != null && forceIntervalNanos > 0;
            queue.offer(new Submission(out, b, direct));
            if (!direct || !writeOnAppender()) {
              if (writerParked) {
                LockSupport.unpark(writer);
              }
            }
          }
        } finally {
          appenders.decrementAndGet();
        }
      }
      if (refused != null) {
        for (Pending p : out) {
          p.fail(refused);
        }
      }
    }
  }

  /**
   * A batch's records handed over by {@link AppendBatch#submit()}: what {@link #queue} holds besides single
   * {@link Pending}s.
   */
  private static final class Submission {
    final ArrayList<Pending> items;
    /** Bytes of the records with their headers. */
    final long bytes;
    /** May be written by the appending thread ({@link #writeOnAppender}). */
    final boolean direct;

    Submission(ArrayList<Pending> items, long bytes, boolean direct) {
      this.items = items;
      this.bytes = bytes;
      this.direct = direct;
    }
  }

  /**
   * Appending thread, with a force interval, right after it queued a batch: writes the queued batches itself instead
   * of waking the writer thread, if it can take {@link #writeLock} at once. With a force interval a batch completes
   * when its write returned, so the writer thread's only part in it would be the hand-off, and that hand-off (a
   * wake-up of the parked writer for each event loop pass, and its park again) cost more CPU than the write: about
   * 10,000 context switches a second at 600,000 appends a second. The write is to the page cache (the force stays on
   * the helper thread) and the listeners are told on their completion executors as before, so an appender never
   * waits here for the disk or for another thread: if the lock is taken, its holder writes this batch (an appender
   * drains again after unlocking, the writer looks at the queue before it parks). What needs the writer thread is
   * left to it, in order: a single append (its listener runs on the writer), a batch that would roll the segment
   * (the roll forces the segment it leaves), and anything after a failure.
   *
   * @return true if nothing is left for the writer thread to do now (no need to wake it)
   */
  private boolean writeOnAppender() {
    if (writeLock.isHeldByCurrentThread()) {
      return false; // submitted from a listener told while this thread writes: never a write inside a write
    }
    while (writeLock.tryLock()) {
      boolean handOver = false;
      try {
        int max = config.maxBatchRecords();
        ArrayList<Pending> batch = null;
        long room = config.segmentBytes() - active.writePos;
        Object e;
        while ((e = queue.peek()) != null) {
          if (!(e instanceof Submission sub) || !sub.direct || sub.bytes > room || failure != null
              || inFlight.size() >= MAX_FORCES_IN_FLIGHT) {
            handOver = true;
            break;
          }
          queue.poll();
          room -= sub.bytes;
          if (batch == null) {
            batch = sub.items;
          } else {
            batch.addAll(sub.items);
          }
          if (batch.size() >= max) {
            break;
          }
        }
        if (batch != null) {
          writeBatch(batch);
          completeForced();
        }
      } finally {
        writeLock.unlock();
      }
      if (handOver) {
        return false;
      }
      if (queue.isEmpty()) {
        return true; // anything queued after this check is written by whoever queued it, or the lock's holder
      }
    }
    return true; // the lock's holder writes what is queued (see above)
  }

  /**
   * Why a record of {@code bodyLength} bytes is refused at once, with {@code queuedWithIt} bytes waiting for the
   * writer counting it (and, for a batch, the records added and not submitted yet), or null if it is not: the
   * journal failed, the record is too large, or it would pass {@code maxQueuedBytes} or {@code maxDiskBytes}.
   */
  private Throwable refusal(int bodyLength, long queuedWithIt) {
    Throwable f = failure;
    if (f != null) {
      return new IOException("journal " + dir + " failed: " + f, f);
    }
    if (bodyLength > config.maxRecordBytes()) {
      return new IllegalArgumentException(
          "record of " + bodyLength + " bytes is larger than maxRecordBytes " + config.maxRecordBytes());
    }
    if (queuedWithIt > config.maxQueuedBytes()) {
      return new JournalFullException("journal " + dir + ": " + config.maxQueuedBytes()
          + " bytes already queued for the disk");
    }
    long cap = config.maxDiskBytes();
    long used = diskBytes + queuedWithIt;
    if (cap > 0 && used > cap) {
      return new JournalFullException("journal " + dir + " holds " + (used - bodyLength - HEADER)
          + " bytes, at its bound maxDiskBytes " + cap + " (records are released when every cursor committed "
          + "past them)");
    }
    return null;
  }

  /** Queues {@code p} for the writer; null if queued, else why not (then {@code p} is not completed). */
  private Throwable enqueue(Pending p) {
    byte[] body = p.body;
    int s;
    do {
      s = appenders.get();
      if (s < 0) {
        return new JournalClosedException("journal " + dir + " is closed");
      }
    } while (!appenders.compareAndSet(s, s + 1));
    try {
      long size = (long) body.length + HEADER;
      // reserved at once (appenders race for the bound); a record too large to take is never counted, not even
      // for a moment: it could be far over the bound and have others refused
      long queued = body.length > config.maxRecordBytes() ? 0 : queuedBytes.addAndGet(size);
      Throwable refused = refusal(body.length, queued);
      if (refused != null) {
        if (queued != 0) {
          queuedBytes.addAndGet(-size);
        }
        return refused;
      }
      queue.offer(p);
      if (writerParked) {
        LockSupport.unpark(writer);
      }
      return null;
    } finally {
      appenders.decrementAndGet();
    }
  }

  /**
   * Returns the named cursor, creating it if it does not exist: a new cursor starts after {@link #lastSequence()}
   * (it sees only records appended from now on). A cursor's committed position survives close and reopen.
   *
   * @throws IllegalStateException if the journal is closed
   */
  public Cursor cursor(String name) {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty() || name.length() > 1024) {
      throw new IllegalArgumentException("a cursor name has 1 to 1024 characters: '" + name + "'");
    }
    checkOpen();
    CursorImpl c = cursors.get(name);
    if (c != null) {
      return c;
    }
    synchronized (cursorLock) {
      c = cursors.get(name);
      if (c == null) {
        c = new CursorImpl(name, lastSequence);
        cursors.put(name, c);
        cursorArray = cursors.values().toArray(new CursorImpl[0]);
        cursorsDirty = true;
      }
      return c;
    }
  }

  /**
   * Returns the named cursor, creating it if it does not exist at the committed position of the cursor {@code from}
   * (so that it gets every record {@code from} has not committed yet: a consumer taking over from another), or after
   * {@link #lastSequence()} if there is no cursor {@code from}. An existing cursor is returned unchanged.
   *
   * @throws IllegalStateException if the journal is closed
   */
  public Cursor cursor(String name, String from) {
    Objects.requireNonNull(name, "name");
    checkOpen();
    synchronized (cursorLock) {
      CursorImpl c = cursors.get(name);
      if (c != null) {
        return c;
      }
      CursorImpl source = from == null ? null : cursors.get(from);
      if (source == null) {
        return cursor(name);
      }
      if (name.isEmpty() || name.length() > 1024) {
        throw new IllegalArgumentException("a cursor name has 1 to 1024 characters: '" + name + "'");
      }
      c = new CursorImpl(name, source.committed());
      cursors.put(name, c);
      cursorArray = cursors.values().toArray(new CursorImpl[0]);
      cursorsDirty = true;
      return c;
    }
  }

  /**
   * Removes the named cursor (its backlog no longer holds records on disk once the change is saved). The dropped
   * {@link Cursor} object must not be used any more.
   *
   * @return whether the cursor existed
   */
  public boolean dropCursor(String name) {
    synchronized (cursorLock) {
      CursorImpl c = cursors.remove(name);
      if (c == null) {
        return false;
      }
      c.dropped = true;
      cursorArray = cursors.values().toArray(new CursorImpl[0]);
      cursorsDirty = true;
      return true;
    }
  }

  /** @return the names of the cursors (a snapshot) */
  public Set<String> cursorNames() {
    return Collections.unmodifiableSet(new java.util.TreeSet<>(cursors.keySet()));
  }

  /** @return the first sequence retained on disk, or {@code lastSequence() + 1} if none is */
  public long firstSequence() {
    for (Segment s : segments.values()) {
      if (s.durableCount > 0) {
        return s.base;
      }
    }
    return lastSequence + 1;
  }

  /**
   * @return the last sequence appended and completed (0 if none ever was): forced to disk, or with a
   *     {@link JournalConfig#forceInterval()} written to its segment file
   */
  public long lastSequence() {
    return lastSequence;
  }

  /** @return the last sequence known to be forced to disk (equal to {@link #lastSequence()} without a force interval) */
  public long forcedSequence() {
    return forcedSequence;
  }

  /**
   * @return the bytes the journal takes against {@link JournalConfig#maxDiskBytes()}: its segment files (what is
   *     written, forced or not) plus the records queued for the writer. Cheap (two reads), any thread
   */
  public long usedBytes() {
    return diskBytes + queuedBytes.get();
  }

  /** @return counters since open and what is on disk now */
  public JournalStats stats() {
    int n = 0;
    long bytes = 0;
    long records = 0;
    for (Segment s : segments.values()) {
      n++;
      bytes += s.durableBytes();
      records += s.durableCount;
    }
    return new JournalStats(appends, fsyncs, bytesWritten, n, bytes, records, queuedBytes.get(), cursorSaves);
  }

  /**
   * Closes the journal: refuses further appends, lets the writer write, force and complete every append already
   * queued, saves the cursor positions, closes the files and releases the lock. Waits for all that; idempotent.
   * Must not be called from a future's callback running on the writer thread.
   */
  @Override
  public void close() {
    if (Thread.currentThread() == writer) {
      throw new IllegalStateException("Journal.close() called on the journal's writer thread (from an append's "
          + "callback): it would wait for itself");
    }
    int s;
    do {
      s = appenders.get();
      if (s < 0) {
        awaitUninterruptibly(closedLatch);
        return;
      }
    } while (!appenders.compareAndSet(s, s | CLOSED));
    try {
      while (appenders.get() != CLOSED) {
        Thread.onSpinWait();
      }
      LockSupport.unpark(writer);
      boolean interrupted = false;
      while (writer.isAlive()) {
        try {
          writer.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      closed = true;
      for (Segment seg : segments.values()) {
        closeQuietly(seg.channel);
      }
      try {
        lock.release();
      } catch (IOException e) {
        LOG.warn("Journal {}: releasing the lock failed", dir, e);
      }
      closeQuietly(lockChannel);
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      LOG.info("Journal {} closed at sequence {}", dir, lastSequence);
    } finally {
      closedLatch.countDown();
    }
  }

  @Override
  public String toString() {
    return "Journal[" + dir + ", id " + id + ", " + firstSequence() + ".." + lastSequence + "]";
  }

  // ------------------------------------------------------------------------------------------------------ writer

  private void runWriter() {
    ArrayList<Pending> batch = new ArrayList<>();
    long lastSave = System.nanoTime();
    while (true) {
      long park;
      boolean flightRoom;
      boolean noFlights;
      boolean forced;
      writeLock.lock();
      try {
        completeForced();
        boolean closing = appenders.get() == CLOSED; // read before the poll: no offer can follow it
        if (inFlight.size() < MAX_FORCES_IN_FLIGHT) {
          Object e = queue.poll();
          if (e != null) {
            int max = config.maxBatchRecords();
            do {
              if (e instanceof Pending p) {
                batch.add(p);
              } else {
                batch.addAll(((Submission) e).items); // whole: a batch may pass maxBatchRecords by one submission
              }
            } while (batch.size() < max && (e = queue.poll()) != null);
            writeBatch(batch);
            // the written one is held by its flight until it completes; the next one is sized like it
            batch = new ArrayList<>(Math.max(10, batch.size()));
            lastSave = maybeSaveCursors(lastSave);
            maybeForcePeriodically(); // also while the queue never runs empty
            continue;
          }
          if (closing && inFlight.isEmpty()) {
            break;
          }
        }
        if (inFlight.isEmpty()) {
          lastSave = maybeSaveCursors(lastSave);
        }
        park = maybeForcePeriodically();
        // the flights change only here (an appender's write completes its own flight before it unlocks)
        flightRoom = inFlight.size() < MAX_FORCES_IN_FLIGHT;
        noFlights = inFlight.isEmpty();
        forced = anyForced();
      } finally {
        writeLock.unlock();
      }
      writerParked = true;
      // read after the unlock: what an appender queued while it could not take the lock is seen here
      boolean canWrite = flightRoom && !queue.isEmpty();
      if (!canWrite && !forced && (appenders.get() != CLOSED || !noFlights)) {
        LockSupport.parkNanos(this, park); // a returning force unparks the writer too
      }
      writerParked = false;
    }
    forcer.shutdown();
    awaitForcer();
    if (failure == null && forceIntervalNanos > 0 && forcedSequence < lastSequence) {
      try {
        long upTo = lastSequence;
        active.channel.force(false);
        fsyncs++;
        forcedSequence = upTo;
      } catch (IOException | RuntimeException e) {
        failure = e;
        LOG.error("Journal {}: forcing the active segment at close failed: records after {} may be lost on a power "
            + "loss", dir, forcedSequence, e);
      }
    }
    if (failure == null) {
      try {
        saveCursors();
      } catch (IOException e) {
        LOG.error("Journal {}: saving the cursor positions at close failed", dir, e);
      }
      releaseSegments();
    }
  }

  /**
   * Writer thread, with a force interval: starts a force of the active segment on a helper thread when something was
   * written since the last one and the interval has passed (one at a time; a roll forces the segment it leaves).
   *
   * @return how long the writer may park before it has to look again
   */
  private long maybeForcePeriodically() {
    if (forceIntervalNanos == 0) {
      return saveIntervalNanos;
    }
    long now = System.nanoTime();
    long due = lastForceStart + forceIntervalNanos - now;
    if (periodicForceRunning || forcedSequence >= lastSequence || failure != null) {
      return Math.min(saveIntervalNanos, forceIntervalNanos);
    }
    if (due > 0) {
      return Math.min(saveIntervalNanos, due);
    }
    Segment seg = active;
    long upTo = lastSequence;
    lastForceStart = now;
    periodicForceRunning = true;
    fsyncs++;
    forcer.execute(() -> {
      try {
        Runnable hook = beforeForce;
        if (hook != null) {
          hook.run();
        }
        seg.channel.force(false);
        if (upTo > forcedSequence) {
          forcedSequence = upTo;
        }
      } catch (java.nio.channels.ClosedChannelException e) {
        // the segment was rolled (forced then) and released meanwhile: nothing of it is left to force
        if (segments.get(seg.base) == seg) {
          periodicForceFailed(e);
        }
      } catch (IOException | RuntimeException | Error e) {
        periodicForceFailed(e);
      } finally {
        periodicForceRunning = false;
      }
    });
    return Math.min(saveIntervalNanos, forceIntervalNanos);
  }

  private void periodicForceFailed(Throwable e) {
    if (failure == null) {
      failure = e;
      LOG.error("Journal {}: forcing the active segment failed; records after {} may be lost on a power loss, and "
          + "the journal refuses appends from now on", dir, forcedSequence, e);
    }
  }

  /** Writer thread, at close: waits for the helper threads' forces to return. */
  private void awaitForcer() {
    boolean interrupted = false;
    while (true) {
      try {
        if (forcer.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
          break;
        }
        LOG.warn("Journal {}: a force has not returned for a minute; still waiting", dir);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** A batch written to {@link #seg} whose force was started; {@link #done} once that force returned. */
  private static final class Flight {
    final List<Pending> batch;
    final Segment seg;
    /** Records of {@link #seg} written up to and including this batch. */
    final int segCount;
    final long lastSeq;
    final long queued;
    volatile boolean done;
    volatile Throwable error;

    Flight(List<Pending> batch, Segment seg, int segCount, long lastSeq, long queued) {
      this.batch = batch;
      this.seg = seg;
      this.segCount = segCount;
      this.lastSeq = lastSeq;
      this.queued = queued;
    }
  }

  private boolean anyForced() {
    for (Flight f : inFlight) {
      if (f.done) {
        return true;
      }
    }
    return false;
  }

  /**
   * Writer thread: completes, in order, the flights up to the newest whose force returned (its force covered the
   * writes of the earlier ones too), then tells the cursors.
   */
  private void completeForced() {
    Flight newest = null;
    for (Flight f : inFlight) {
      if (f.done) {
        newest = f;
      }
    }
    if (newest == null) {
      return;
    }
    boolean any = false;
    while (true) {
      Flight f = inFlight.pollFirst();
      Throwable e = f.done && f.error != null ? f.error : newest.error;
      if (e != null && failure == null) {
        failure = e;
        LOG.error("Journal {}: forcing a batch of {} records failed; the journal refuses appends from now on", dir,
            f.batch.size(), e);
      }
      queuedBytes.addAndGet(-f.queued);
      if (failure != null) {
        Throwable cause = failure;
        for (Pending p : f.batch) {
          p.fail(new IOException("journal " + dir + ": write failed: " + cause, cause));
        }
      } else {
        f.seg.publish(f.segCount);
        if (forceIntervalNanos == 0) {
          forcedSequence = f.lastSeq;
        }
        lastSequence = f.lastSeq;
        appends += f.batch.size();
        completeAll(f.batch);
        any = true;
      }
      if (f == newest) {
        break;
      }
    }
    if (any) {
      long last = lastSequence;
      for (CursorImpl c : cursorArray) {
        Runnable l = c.listener;
        if (l != null && c.readPos < last) {
          runListener(c, l);
        }
      }
    }
  }

  /**
   * Writer thread: tells the records of a written batch that they are in the journal, in sequence order: those
   * without a completion executor here, the others in one task per executor (see {@link #batch(Executor)}).
   */
  private static void completeAll(List<Pending> batch) {
    // the executors of this batch and their records; an executor is an event loop, of which there are a few
    Executor[] executors = null;
    ArrayList<Pending>[] groups = null;
    int n = 0;
    for (Pending p : batch) {
      Executor ex = p.completions;
      if (ex == null) {
        p.done();
        continue;
      }
      int i = 0;
      while (i < n && executors[i] != ex) {
        i++;
      }
      if (i == n) {
        if (executors == null) {
          executors = new Executor[4];
          @SuppressWarnings("unchecked")
          ArrayList<Pending>[] g = new ArrayList[4];
          groups = g;
        } else if (n == executors.length) {
          executors = Arrays.copyOf(executors, n * 2);
          groups = Arrays.copyOf(groups, n * 2);
        }
        executors[n] = ex;
        groups[n] = new ArrayList<>(Math.min(batch.size(), 256));
        n++;
      }
      groups[i].add(p);
    }
    for (int i = 0; i < n; i++) {
      ArrayList<Pending> group = groups[i];
      try {
        executors[i].execute(() -> {
          for (Pending p : group) {
            p.done();
          }
        });
      } catch (RuntimeException refused) { // RejectedExecutionException: the executor is shutting down
        for (Pending p : group) {
          p.done();
        }
      }
    }
  }

  /** Writer thread: waits until every flight completed (before a segment roll, and at close). */
  private void awaitFlights() {
    while (!inFlight.isEmpty()) {
      completeForced();
      if (!inFlight.isEmpty() && !anyForced()) {
        LockSupport.parkNanos(this, 1_000_000L);
      }
    }
  }

  /**
   * Writes one batch and starts its force ({@link #completeForced} completes it); on an I/O error fails it and every
   * later append.
   */
  private void writeBatch(List<Pending> batch) {
    long queued = 0;
    for (Pending p : batch) {
      queued += (long) p.body.length + HEADER;
    }
    if (failure != null) {
      queuedBytes.addAndGet(-queued);
      for (Pending p : batch) {
        p.fail(new IOException("journal " + dir + " failed: " + failure, failure));
      }
      return;
    }
    boolean rolled = false;
    try {
      Segment seg = active;
      ByteBuffer buf = buffer;
      buf.clear();
      for (Pending p : batch) {
        int len = p.body.length;
        int size = HEADER + len;
        if (seg.count > 0 && seg.writePos + size > config.segmentBytes()) {
          flush(seg, buf);
          awaitFlights(); // the earlier batches in this segment are complete: it is forced and published whole
          if (failure != null) {
            throw new IOException("an earlier force failed", failure);
          }
          seg.channel.force(false);
          fsyncs++;
          seg.published();
          if (seg.lastDurable() > forcedSequence) {
            forcedSequence = seg.lastDurable(); // earlier segments were forced when they were left
          }
          seg = roll();
          rolled = true;
        }
        if (buf.remaining() < size) {
          flush(seg, buf);
          if (buf.capacity() < size) {
            buf = ByteBuffer.allocateDirect(size);
            buffer = buf;
          }
        }
        long seq = nextSequence++;
        int at = buf.position();
        buf.putInt(len).putInt(0).putLong(seq).put(p.body);
        crc.reset();
        crc.update(buf.limit(at + size).position(at + 8)); // leaves the position at the record's end
        buf.limit(buf.capacity());
        buf.putInt(at + 4, (int) crc.getValue());
        seg.added(size);
        diskBytes += size;
        p.sequence = seq;
      }
      flush(seg, buf);
    } catch (IOException | RuntimeException | Error e) {
      failure = e;
      LOG.error("Journal {}: writing a batch of {} records failed; the journal refuses appends from now on", dir,
          batch.size(), e);
      queuedBytes.addAndGet(-queued);
      for (Pending p : batch) {
        p.fail(new IOException("journal " + dir + ": write failed: " + e, e));
      }
      return;
    }
    Segment seg = active;
    Flight f = new Flight(batch, seg, seg.count, nextSequence - 1, queued);
    inFlight.add(f);
    if (forceIntervalNanos > 0) {
      f.done = true; // written: it completes now (completeForced), the periodic force comes later
    } else {
      fsyncs++;
      forcer.execute(() -> {
      try {
        Runnable hook = beforeForce;
        if (hook != null) {
          hook.run();
        }
        seg.channel.force(false);
      } catch (IOException | RuntimeException | Error e) {
        f.error = e;
      }
      f.done = true;
      LockSupport.unpark(writer);
      });
    }
    if (rolled) {
      if (cursorsDirty) {
        try {
          saveCursors();
        } catch (IOException e) {
          LOG.warn("Journal {}: saving the cursor positions failed (will retry)", dir, e);
        }
      }
      releaseSegments();
    }
  }

  /** Writes the buffer at the segment's position before the records placed in it; clears it. */
  private void flush(Segment seg, ByteBuffer buf) throws IOException {
    long at = seg.writePos - buf.position();
    buf.flip();
    int n = buf.remaining();
    while (buf.hasRemaining()) {
      at += seg.channel.write(buf, at);
    }
    buf.clear();
    bytesWritten += n;
  }

  /** Starts a new segment at {@link #nextSequence} and makes it the active one. */
  private Segment roll() throws IOException {
    Segment s = createSegment(nextSequence);
    active = s;
    return s;
  }

  private Segment createSegment(long base) throws IOException {
    Path path = dir.resolve(Segment.fileName(base));
    FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    forceDirectory();
    Segment s = new Segment(base, path, ch);
    segments.put(base, s);
    return s;
  }

  private long maybeSaveCursors(long lastSave) {
    long now = System.nanoTime();
    if (!cursorsDirty || now - lastSave < saveIntervalNanos) {
      return lastSave;
    }
    try {
      saveCursors();
    } catch (IOException e) {
      LOG.warn("Journal {}: saving the cursor positions failed (will retry)", dir, e);
      return now;
    }
    releaseSegments();
    return now;
  }

  /** Writer thread: writes the cursor positions (temp file, force, atomic move) and updates the release bound. */
  private void saveCursors() throws IOException {
    Map<String, Long> snapshot = new TreeMap<>();
    long last;
    synchronized (cursorLock) {
      cursorsDirty = false;
      last = lastSequence;
      for (CursorImpl c : cursors.values()) {
        snapshot.put(c.name, c.committed);
      }
    }
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(CURSORS_MAGIC);
      out.writeInt(CURSORS_VERSION);
      out.writeLong(last);
      out.writeInt(snapshot.size());
      for (Map.Entry<String, Long> e : snapshot.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeLong(e.getValue());
      }
      CRC32C c = new CRC32C();
      c.update(bytes.toByteArray());
      out.writeInt((int) c.getValue());
      out.flush();
      writeAtomically(dir.resolve(CURSORS_FILE), bytes.toByteArray());
    } catch (IOException e) {
      cursorsDirty = true;
      throw e;
    }
    cursorSaves++;
    releaseBound = snapshot.isEmpty() ? last : Collections.min(snapshot.values());
  }

  /** Writer thread: deletes the segments (not the active one) whose records are all at or below the release bound. */
  private void releaseSegments() {
    synchronized (cursorLock) {
      if (!cursorsDirty && cursors.isEmpty()) {
        releaseBound = lastSequence; // no cursor, none created since the last save: everything is released
      }
    }
    for (Segment s : segments.values()) {
      if (s == active || s.lastDurable() > releaseBound) {
        break;
      }
      // the file goes first, so that what firstSequence() and stats() show is already true on disk
      try {
        Files.deleteIfExists(s.path);
        LOG.debug("Journal {}: released segment {} (records {}..{})", dir, s.path.getFileName(), s.base,
            s.lastDurable());
      } catch (IOException e) {
        LOG.warn("Journal {}: deleting released segment {} failed", dir, s.path, e);
      }
      segments.remove(s.base);
      diskBytes -= s.writePos;
      closeQuietly(s.channel);
    }
    long cap = config.maxDiskBytes();
    Segment a = active;
    if (cap > 0 && diskBytes > cap / 2 && a.count > 0 && a.durableCount == a.count && inFlight.isEmpty()
        && a.lastDurable() <= releaseBound && failure == null) {
      // everything in the active segment is released but the journal is near its bound: start a new segment so
      // that this one can go (else a bound below the segment size would keep the journal full until a roll)
      try {
        roll();
      } catch (IOException e) {
        LOG.warn("Journal {}: starting a new segment to release {} failed", dir, a.path.getFileName(), e);
        return;
      }
      releaseSegments();
    }
  }

  private void runListener(CursorImpl c, Runnable l) {
    try {
      l.run();
    } catch (RuntimeException e) {
      LOG.warn("Journal {}: onAvailable listener of cursor '{}' failed", dir, c.name, e);
    }
  }

  // ---------------------------------------------------------------------------------------------------- recovery

  private String loadOrCreateId() throws IOException {
    Path p = dir.resolve(ID_FILE);
    if (Files.exists(p)) {
      String s = Files.readString(p, StandardCharsets.UTF_8).trim();
      if (!s.isEmpty()) {
        return s;
      }
    }
    String s = UUID.randomUUID().toString();
    writeAtomically(p, (s + "\n").getBytes(StandardCharsets.UTF_8));
    return s;
  }

  /** Reads the cursors file into {@code into}; returns the last sequence it recorded (0 without a file). */
  private long loadCursors(Map<String, Long> into) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(dir.resolve(CURSORS_FILE));
    } catch (NoSuchFileException e) {
      return 0;
    }
    if (bytes.length < 24) {
      throw new IOException("journal " + dir + ": the cursors file is cut short (" + bytes.length + " bytes)");
    }
    CRC32C c = new CRC32C();
    c.update(bytes, 0, bytes.length - 4);
    int stored = ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt();
    if ((int) c.getValue() != stored) {
      throw new IOException("journal " + dir + ": the cursors file does not match its checksum");
    }
    DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes, 0, bytes.length - 4));
    if (in.readInt() != CURSORS_MAGIC || in.readInt() != CURSORS_VERSION) {
      throw new IOException("journal " + dir + ": the cursors file has an unknown format");
    }
    long last = in.readLong();
    int n = in.readInt();
    for (int i = 0; i < n; i++) {
      into.put(in.readUTF(), in.readLong());
    }
    return last;
  }

  /** Opens and scans the segment files, truncates torn or corrupt tails, and sets up the active segment. */
  private void recoverSegments(long savedLast) throws IOException {
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(p -> SEGMENT_NAME.matcher(p.getFileName().toString()).matches()).sorted().toList();
    }
    Segment prev = null;
    for (Path f : files) {
      String name = f.getFileName().toString();
      long base = Long.parseLong(name.substring(0, name.length() - 4));
      if (base < 1 || (prev != null && base <= prev.lastDurable())) {
        throw new IOException("journal " + dir + ": segment " + name + " overlaps the records before it");
      }
      Segment s = scan(f, base);
      if (prev != null && prev.durableCount == 0) {
        // an empty segment that is not the last one holds nothing
        segments.remove(prev.base);
        closeQuietly(prev.channel);
        Files.deleteIfExists(prev.path);
      }
      if (prev != null && prev.durableCount > 0 && prev.lastDurable() + 1 != base) {
        LOG.warn("Journal {}: records {}..{} are missing (a corrupt segment was truncated)", dir,
            prev.lastDurable() + 1, base - 1);
      }
      segments.put(base, s);
      prev = s;
    }
    long bytes = 0;
    for (Segment s : segments.values()) {
      bytes += s.writePos;
    }
    diskBytes = bytes;
    long next = Math.max(savedLast + 1, 1);
    if (prev != null) {
      next = Math.max(next, prev.base + prev.count);
    }
    if (prev != null && prev.base + prev.count == next) {
      active = prev;
    } else {
      if (prev != null && prev.count == 0) {
        segments.remove(prev.base);
        closeQuietly(prev.channel);
        Files.deleteIfExists(prev.path);
      }
      active = createSegment(next);
    }
    nextSequence = next;
    lastSequence = next - 1;
  }

  /** Scans one segment file; truncates it at the first torn or corrupt record. */
  private Segment scan(Path path, long base) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    Segment s = new Segment(base, path, ch);
    try {
      long size = ch.size();
      Window w = new Window(ch);
      CRC32C c = new CRC32C();
      long pos = 0;
      String problem = null;
      while (pos < size) {
        if (size - pos < HEADER) {
          problem = "a torn record header";
          break;
        }
        ByteBuffer b = w.at(pos, HEADER);
        int at = b.position();
        int len = b.getInt(at);
        int stored = b.getInt(at + 4);
        long seq = b.getLong(at + 8);
        if (len < 0 || len > size - pos - HEADER) {
          problem = "a torn record (length " + len + ", " + (size - pos - HEADER) + " bytes left)";
          break;
        }
        if (seq != base + s.count) {
          problem = "an unexpected sequence " + seq + " (expected " + (base + s.count) + ")";
          break;
        }
        b = w.at(pos, HEADER + len);
        at = b.position();
        c.reset();
        c.update(b.array(), b.arrayOffset() + at + 8, 8 + len);
        if ((int) c.getValue() != stored) {
          problem = "a record whose checksum does not match (sequence " + seq + ")";
          break;
        }
        s.added(HEADER + len);
        pos += HEADER + len;
      }
      if (problem != null) {
        LOG.warn("Journal {}: segment {} has {} at byte {}; truncating it there ({} bytes dropped, {} good records "
            + "kept)", dir, path.getFileName(), problem, pos, size - pos, s.count);
        ch.truncate(pos);
        ch.force(true);
      }
      s.published();
      return s;
    } catch (IOException | RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  /** A sliding read window over a file, for the recovery scan. */
  private static final class Window {
    private final FileChannel ch;
    private ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    private long start;

    Window(FileChannel ch) {
      this.ch = ch;
      buf.limit(0);
    }

    /** @return the buffer with its position at file position {@code pos} and at least {@code need} bytes after it */
    ByteBuffer at(long pos, int need) throws IOException {
      if (pos < start || pos + need > start + buf.limit()) {
        if (buf.capacity() < need) {
          buf = ByteBuffer.allocate(need);
        }
        buf.clear();
        start = pos;
        while (buf.position() < need) {
          if (ch.read(buf, start + buf.position()) < 0) {
            throw new IOException("unexpected end of file at " + (start + buf.position()));
          }
        }
        buf.flip();
      }
      return buf.position((int) (pos - start));
    }
  }

  // ------------------------------------------------------------------------------------------------------ helpers

  private void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Forces the directory entry of a new file (Linux allows opening a directory for this; elsewhere it is skipped). */
  private void forceDirectory() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      LOG.debug("Journal {}: forcing the directory is not supported here", dir, e);
    }
  }

  private void checkOpen() {
    if (appenders.get() < 0) {
      throw new IllegalStateException("journal " + dir + " is closed");
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException e) {
      LOG.debug("closing {} failed", ch, e);
    }
  }

  private static void awaitUninterruptibly(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        latch.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * An append waiting for the writer; it is the future {@link #append(byte[])} returns (one object per append), or
   * it carries the {@link AppendListener} of {@link #append(byte[], AppendListener)} (then the future is unused).
   */
  private static final class Pending extends CompletableFuture<Long> {
    final byte[] body;
    final AppendListener listener;
    /** Where to tell {@link #listener} that the record is in; null: on the writer thread. */
    final Executor completions;
    long sequence;

    Pending(byte[] body, AppendListener listener, Executor completions) {
      this.body = body;
      this.listener = listener;
      this.completions = completions;
    }

    /** Writer thread, or an appender writing (see {@link #writeOnAppender}): the record is in the journal. */
    void done() {
      if (listener == null) {
        complete(sequence);
        return;
      }
      try {
        listener.appended(sequence);
      } catch (RuntimeException e) {
        LOG.error("Journal append listener {} failed", listener, e);
      }
    }

    /** Writer thread (or the closing thread): the record is not in the journal. */
    void fail(Throwable e) {
      if (listener == null) {
        completeExceptionally(e);
        return;
      }
      try {
        listener.appendFailed(e);
      } catch (RuntimeException x) {
        LOG.error("Journal append listener {} failed", listener, x);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------ cursors

  private final class CursorImpl implements Cursor {
    final String name;
    volatile long committed;
    volatile long readPos;
    volatile Runnable listener;
    volatile boolean dropped;

    CursorImpl(String name, long position) {
      this.name = name;
      this.committed = position;
      this.readPos = position;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<JournalRecord> poll(int maxRecords, long maxBytes) {
      checkUsable();
      if (maxRecords <= 0) {
        return List.of();
      }
      long last = lastSequence;
      long from = readPos + 1;
      while (from <= last) {
        Map.Entry<Long, Segment> e = segments.floorEntry(from);
        Segment seg = e != null ? e.getValue() : null;
        if (seg == null || from > seg.lastDurable()) {
          Map.Entry<Long, Segment> h = segments.higherEntry(from);
          if (h == null) {
            return List.of();
          }
          from = h.getKey(); // records before it are gone (released or lost to corruption)
          continue;
        }
        int idx = (int) (from - seg.base);
        int avail = (int) Math.min(seg.durableCount - idx, Math.min(maxRecords, last - from + 1));
        int[] off = seg.offsets;
        int start = off[idx];
        int k = 1;
        while (k < avail) {
          long span = (long) off[idx + k + 1] - start;
          if (span - (long) HEADER * (k + 1) > maxBytes || span > MAX_POLL_READ) {
            break;
          }
          k++;
        }
        ByteBuffer b;
        try {
          b = seg.read(start, off[idx + k] - start);
        } catch (IOException ex) {
          throw new UncheckedIOException("journal " + dir + ": reading " + seg.path.getFileName() + " failed", ex);
        }
        List<JournalRecord> out = new ArrayList<>(k);
        CRC32C c = new CRC32C();
        for (int i = 0; i < k; i++) {
          int at = b.position();
          int len = b.getInt(at);
          int stored = b.getInt(at + 4);
          long seq = b.getLong(at + 8);
          c.reset();
          c.update(b.array(), b.arrayOffset() + at + 8, 8 + len);
          if (seq != from + i || (int) c.getValue() != stored) {
            throw new UncheckedIOException(new IOException("journal " + dir + ": record " + (from + i) + " in "
                + seg.path.getFileName() + " is corrupt on disk"));
          }
          byte[] body = new byte[len];
          b.position(at + HEADER);
          b.get(body);
          out.add(new JournalRecord(seq, body));
        }
        readPos = from + k - 1;
        return out;
      }
      return List.of();
    }

    @Override
    public void commit(long sequence) {
      checkUsable();
      long s = Math.min(sequence, lastSequence);
      if (s <= committed) {
        return;
      }
      committed = s;
      if (readPos < s) {
        readPos = s;
      }
      cursorsDirty = true;
    }

    @Override
    public void rewind() {
      checkUsable();
      readPos = committed;
    }

    @Override
    public long committed() {
      return committed;
    }

    @Override
    public long readPosition() {
      return readPos;
    }

    @Override
    public long backlogRecords() {
      long c = committed;
      long n = 0;
      for (Segment seg : segmentsFrom(c + 1)) {
        int dc = seg.durableCount;
        long firstIdx = Math.max(0, c + 1 - seg.base);
        if (firstIdx < dc) {
          n += dc - firstIdx;
        }
      }
      return n;
    }

    @Override
    public long backlogBytes() {
      long c = committed;
      long bytes = 0;
      for (Segment seg : segmentsFrom(c + 1)) {
        int dc = seg.durableCount;
        int[] off = seg.offsets;
        long firstIdx = Math.max(0, c + 1 - seg.base);
        if (firstIdx < dc) {
          bytes += off[dc] - off[(int) firstIdx] - (long) HEADER * (dc - firstIdx);
        }
      }
      return bytes;
    }

    @Override
    public void onAvailable(Runnable l) {
      listener = l;
      if (l != null && readPos < lastSequence) {
        runListener(this, l);
      }
    }

    private Iterable<Segment> segmentsFrom(long seq) {
      Long k = segments.floorKey(seq);
      return (k == null ? segments : segments.tailMap(k, true)).values();
    }

    private void checkUsable() {
      if (dropped) {
        throw new IllegalStateException("cursor '" + name + "' was dropped");
      }
      if (closed) {
        throw new IllegalStateException("journal " + dir + " is closed");
      }
    }

    @Override
    public String toString() {
      return "Cursor[" + name + ", committed " + committed + ", read " + readPos + "]";
    }
  }
}
