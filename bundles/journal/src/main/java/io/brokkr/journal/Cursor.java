package io.brokkr.journal;

import java.util.List;

/**
 * A named reader of a {@link Journal} with its own durable position. Get one with {@link Journal#cursor(String)}.
 *
 * <p>A cursor has a <em>read position</em> (in memory: the last sequence handed out by {@link #poll}) and a
 * <em>committed position</em> (the last sequence the consumer is done with, saved to disk). Records after the committed
 * position are kept on disk for this cursor. After a crash the cursor restarts at its last saved committed position,
 * so records may be delivered again (at least once): consumers are idempotent by {@link Journal#recordId record id}.
 *
 * <p>Threads: {@link #poll}, {@link #commit} and {@link #rewind} are called from one consumer thread at a time; the
 * getters may be called from any thread.
 */
public interface Cursor {

  /** @return the cursor's name, as given to {@link Journal#cursor(String)} */
  String name();

  /**
   * Reads the durable records after the read position and advances the read position past them (in memory only).
   * Returns at most {@code maxRecords} records and at most {@code maxBytes} body bytes, but at least one record if
   * any is available (even if it alone is larger than {@code maxBytes}); it may return fewer than are available (it
   * reads from one segment file per call). Never blocks on appends in flight.
   *
   * @return the records in sequence order, or an empty list if there are none
   * @throws java.io.UncheckedIOException if reading fails or a record read back does not match its checksum
   * @throws IllegalStateException if the cursor was dropped or the journal closed
   */
  List<JournalRecord> poll(int maxRecords, long maxBytes);

  /**
   * Marks everything up to {@code sequence} as done for this cursor. Records no cursor needs any more are released
   * (their segment file deleted) once the new position is saved. The position is saved lazily (at most every
   * {@link JournalConfig#cursorSaveInterval()}, and at close): a crash may re-deliver records after the last saved
   * commit. A sequence at or below {@link #committed()} is ignored; one past the journal's last sequence is clamped to
   * it. Committing past the read position moves the read position too.
   */
  void commit(long sequence);

  /** Moves the read position back to the committed position (e.g. after a failed write by the consumer). */
  void rewind();

  /** @return the committed position: every record up to it is done for this cursor (0 before anything) */
  long committed();

  /** @return the read position: the last sequence handed out by {@link #poll} (or committed, or rewound to) */
  long readPosition();

  /** @return records retained after the committed position (handed out but not committed ones included) */
  long backlogRecords();

  /** @return body bytes of the records counted by {@link #backlogRecords()} */
  long backlogBytes();

  /**
   * Sets the listener called when new durable records exist after this cursor's read position: from the thread that
   * completed a batch (the journal's writer thread, or with a force interval usually the thread that appended the
   * batch and wrote it, see {@link Journal.AppendBatch#submit()}) after each completed batch that leaves records after
   * the read position (so possibly more than once for the same records, until they are polled). It must not block
   * (typically it schedules a poll on the consumer's own thread). If records are already available when it is set,
   * it is also called once at once, on the caller's thread, so that no wake-up is missed. {@code null} removes it.
   */
  void onAvailable(Runnable listener);
}
