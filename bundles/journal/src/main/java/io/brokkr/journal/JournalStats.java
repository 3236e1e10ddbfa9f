package io.brokkr.journal;

/**
 * Counters of a {@link Journal} since it was opened, and what it keeps on disk now.
 *
 * @param appends         records appended and completed (forced, or written with a force interval) since open
 * @param fsyncs          {@code force} calls on segment files since open (one per batch, one more at a segment roll;
 *                        with a force interval one per interval with writes, at a roll and at close);
 *                        {@code appends / fsyncs} is the mean group-commit batch
 * @param bytesWritten    bytes written to segment files since open (headers included)
 * @param segments        segment files on disk now
 * @param diskBytes       bytes of durable records in the segment files now
 * @param recordsRetained records on disk now ({@code lastSequence - firstSequence + 1} unless segments were lost)
 * @param queuedBytes     bytes waiting for the writer thread now (bounded by {@link JournalConfig#maxQueuedBytes()})
 * @param cursorSaves     times the cursor positions file was written since open
 */
public record JournalStats(long appends, long fsyncs, long bytesWritten, int segments, long diskBytes,
                           long recordsRetained, long queuedBytes, long cursorSaves) {
}
