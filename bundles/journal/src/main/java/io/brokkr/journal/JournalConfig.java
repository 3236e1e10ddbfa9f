package io.brokkr.journal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link Journal} is laid out and bounded. Start from {@link #defaults(Path)} or {@link #builder(Path)}.
 *
 * @param dir                 the journal's own directory (created if missing); holds {@code lock}, {@code journal.id},
 *                            {@code cursors} and the segment files {@code <first sequence, 20 digits>.seg}
 * @param segmentBytes        a segment file is rolled (a new one started) before it would grow past this; a segment is
 *                            the unit of deletion. Between 4 KiB and 1 GiB; default 64 MiB
 * @param maxBatchRecords     at most this many records go into one write + force (group commit); default 4096
 * @param maxQueuedBytes      appends waiting for the writer thread (bodies + 16-byte headers) are bounded by this; an
 *                            append past it fails at once with {@link JournalFullException}; default 64 MiB
 * @param maxRecordBytes      the largest body accepted; at most {@code segmentBytes - 16} and {@code maxQueuedBytes};
 *                            default 16 MiB (or less, by those bounds)
 * @param cursorSaveInterval  cursor positions changed by {@link Cursor#commit} are written at most this often (and at
 *                            close); default 100 ms
 * @param forceInterval       when an append counts as done: {@link Duration#ZERO} (the default) once its batch is
 *                            forced to disk ({@code force}, fsync), so that it survives a power loss; a positive
 *                            interval once its batch is written to the segment file (the operating system's page
 *                            cache: it survives a crash of the process, not a power loss or a kernel crash), the
 *                            active segment being forced every {@code forceInterval}, at every segment roll and at
 *                            close
 * @param maxDiskBytes        a hard bound of the journal's disk use: an append fails at once with
 *                            {@link JournalFullException} while the segment files and the records queued for the
 *                            writer would grow past it; {@code 0} (the default) for no bound. Segments are deleted
 *                            whole, so choose {@code segmentBytes} well below it (an eighth, say)
 */
public record JournalConfig(Path dir, long segmentBytes, int maxBatchRecords, long maxQueuedBytes, int maxRecordBytes,
                            Duration cursorSaveInterval, Duration forceInterval, long maxDiskBytes) {

  /** The default segment size, 64 MiB. */
  public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
  /** The default group-commit batch bound, 4096 records. */
  public static final int DEFAULT_MAX_BATCH_RECORDS = 4096;
  /** The default bound of bytes queued for the writer, 64 MiB. */
  public static final long DEFAULT_MAX_QUEUED_BYTES = 64L << 20;
  /** The default largest body, 16 MiB. */
  public static final int DEFAULT_MAX_RECORD_BYTES = 16 << 20;
  /** The default interval of cursor position saves, 100 ms. */
  public static final Duration DEFAULT_CURSOR_SAVE_INTERVAL = Duration.ofMillis(100);

  /** A config that forces every batch before its appends complete and has no disk bound (the 1.0 shape). */
  public JournalConfig(Path dir, long segmentBytes, int maxBatchRecords, long maxQueuedBytes, int maxRecordBytes,
                       Duration cursorSaveInterval) {
    this(dir, segmentBytes, maxBatchRecords, maxQueuedBytes, maxRecordBytes, cursorSaveInterval, Duration.ZERO, 0);
  }

  /** Checks the bounds (see the record's parameters). */
  public JournalConfig {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(cursorSaveInterval, "cursorSaveInterval");
    Objects.requireNonNull(forceInterval, "forceInterval");
    if (forceInterval.isNegative()) {
      throw new IllegalArgumentException("forceInterval must not be negative: " + forceInterval);
    }
    if (maxDiskBytes < 0) {
      throw new IllegalArgumentException("maxDiskBytes must be >= 0 (0: no bound): " + maxDiskBytes);
    }
    if (segmentBytes < 4096 || segmentBytes > (1L << 30)) {
      throw new IllegalArgumentException("segmentBytes must be in [4 KiB, 1 GiB]: " + segmentBytes);
    }
    if (maxBatchRecords < 1) {
      throw new IllegalArgumentException("maxBatchRecords must be >= 1: " + maxBatchRecords);
    }
    if (maxQueuedBytes < 1) {
      throw new IllegalArgumentException("maxQueuedBytes must be >= 1: " + maxQueuedBytes);
    }
    if (maxRecordBytes < 0 || maxRecordBytes > segmentBytes - Journal.HEADER || maxRecordBytes > maxQueuedBytes) {
      throw new IllegalArgumentException("maxRecordBytes must be in [0, min(segmentBytes - 16, maxQueuedBytes)]: "
          + maxRecordBytes);
    }
    if (cursorSaveInterval.isNegative()) {
      throw new IllegalArgumentException("cursorSaveInterval must not be negative: " + cursorSaveInterval);
    }
  }

  /**
   * @return the defaults (64 MiB segments, 4096-record batches, 64 MiB queue, 16 MiB records, 100 ms saves, every
   *     batch forced, no disk bound)
   */
  public static JournalConfig defaults(Path dir) {
    return builder(dir).build();
  }

  /** @return a builder starting from the defaults */
  public static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /** Builds a {@link JournalConfig}; unset values are the defaults. */
  public static final class Builder {
    private final Path dir;
    private long segmentBytes = DEFAULT_SEGMENT_BYTES;
    private int maxBatchRecords = DEFAULT_MAX_BATCH_RECORDS;
    private long maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES;
    private Integer maxRecordBytes;
    private Duration cursorSaveInterval = DEFAULT_CURSOR_SAVE_INTERVAL;
    private Duration forceInterval = Duration.ZERO;
    private long maxDiskBytes;

    private Builder(Path dir) {
      this.dir = dir;
    }

    /** @see JournalConfig#segmentBytes() */
    public Builder segmentBytes(long v) {
      segmentBytes = v;
      return this;
    }

    /** @see JournalConfig#maxBatchRecords() */
    public Builder maxBatchRecords(int v) {
      maxBatchRecords = v;
      return this;
    }

    /** @see JournalConfig#maxQueuedBytes() */
    public Builder maxQueuedBytes(long v) {
      maxQueuedBytes = v;
      return this;
    }

    /** @see JournalConfig#maxRecordBytes() */
    public Builder maxRecordBytes(int v) {
      maxRecordBytes = v;
      return this;
    }

    /** @see JournalConfig#cursorSaveInterval() */
    public Builder cursorSaveInterval(Duration v) {
      cursorSaveInterval = v;
      return this;
    }

    /** @see JournalConfig#forceInterval() */
    public Builder forceInterval(Duration v) {
      forceInterval = v;
      return this;
    }

    /** @see JournalConfig#maxDiskBytes() */
    public Builder maxDiskBytes(long v) {
      maxDiskBytes = v;
      return this;
    }

    /** @return the config; an unset maxRecordBytes is 16 MiB bounded by the segment size and the queue bound */
    public JournalConfig build() {
      int maxRecord = maxRecordBytes != null ? maxRecordBytes
          : (int) Math.max(0, Math.min(DEFAULT_MAX_RECORD_BYTES,
              Math.min(segmentBytes - Journal.HEADER, maxQueuedBytes)));
      return new JournalConfig(dir, segmentBytes, maxBatchRecords, maxQueuedBytes, maxRecord, cursorSaveInterval,
          forceInterval, maxDiskBytes);
    }
  }
}
