package io.brokkr.journal;

/**
 * One record read from a {@link Journal}.
 *
 * @param sequence the record's sequence: starts at 1, strictly increasing, never reused by the same journal
 *                 directory; together with {@link Journal#id()} it identifies the record ({@link Journal#recordId})
 * @param body     the bytes given to {@link Journal#append}; a fresh array per poll, the caller may keep it
 */
public record JournalRecord(long sequence, byte[] body) {
}
