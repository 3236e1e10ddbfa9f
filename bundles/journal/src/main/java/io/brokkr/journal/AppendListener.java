package io.brokkr.journal;

/**
 * Told when an append made with {@link Journal#append(byte[], AppendListener)} completed: the alternative to the
 * future of {@link Journal#append(byte[])} for callers that append at a high rate and want no future, no boxed
 * sequence and no dependent object per record. Called once per append, on the journal's writer thread (for a
 * {@link Journal#batch(java.util.concurrent.Executor) batch}: on its completion executor, and a failure on the thread
 * that wrote it), in sequence order within a batch: it must be short and must not block, and what it throws is logged
 * and ignored.
 */
public interface AppendListener {

    /** The record is in the journal with this sequence (forced to disk, or with a force interval: written). */
    void appended(long sequence);

    /**
     * The write or the force failed (an {@link java.io.IOException}; then every later append fails too), or the
     * journal was closed before the record was written.
     */
    void appendFailed(Throwable error);
}
