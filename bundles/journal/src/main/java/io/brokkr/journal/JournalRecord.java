package io.brokkr.journal;

/**
 * One record read from a {@link Journal}.
 *
 * @param sequence the record's sequence: starts at 1, strictly increasing, never reused by the same journal
 *                 directory; together with {@link Journal#id()} it identifies the record ({@link Journal#recordId})
 * @param body     the bytes given to {@link Journal#append}; the caller may keep it but must not modify it: it may be
 *                 the very array that was appended (served from the journal's read cache), which every cursor gets
 */
public record JournalRecord(long sequence, byte[] body) {
}
