package io.brokkr.api;

/**
 * The disk journal that feeds the message sinks, as {@code mqtt:connectors} shows it.
 *
 * @param dir              the journal's directory
 * @param fsync            {@code always} (a QoS 1/2 message is acknowledged once forced to disk) or
 *                         {@code interval} (once written to the segment file; forced every {@code fsyncIntervalMs})
 * @param fsyncIntervalMs  the force interval of {@code interval}, in milliseconds
 * @param usedBytes        bytes the journal takes now (segment files plus records waiting for its writer)
 * @param maxBytes         its hard bound ({@code journal.max.bytes}), 0 for none
 * @param full             whether the last message for the sinks was refused because the journal was full
 * @param refused          QoS 1/2 messages refused since the broker started because the journal was full
 *                         (MQTT 5: 0x97 Quota exceeded; 3.1.1: the connection was closed unacknowledged)
 * @param skipped          QoS 0 messages not journalled for the sinks since the broker started because it was full
 * @param biggestBacklog   the sink with the most bytes waiting in the journal, or null without sinks
 */
public record JournalInfo(String dir, String fsync, long fsyncIntervalMs, long usedBytes, long maxBytes, boolean full,
                          long refused, long skipped, String biggestBacklog) {
}
