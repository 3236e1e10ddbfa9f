package io.brokkr.api;

import java.util.List;

/**
 * A message sink (storage connector) as the broker knows it. A sink stays known while its bundle is stopped,
 * updated or uninstalled (state {@code offline}), so that its backlog waits for it in the journal, until it is
 * removed with {@code BrokerService.removeSink}.
 *
 * @param name            the sink's stable name (its configuration PID)
 * @param state           {@code running}, {@code retrying} (the last write failed; retried with back-off),
 *                        {@code stopped} (paused by an operator) or {@code offline} (no service registered)
 * @param topics          the topic filters it takes
 * @param written         records written since the broker started
 * @param pendingRecords  journal records after its position (its backlog)
 * @param pendingBytes    bytes of that backlog
 * @param retries         failed writes that were retried
 * @param failed          failed write attempts in a row now (0 when the last write succeeded)
 * @param skipped         QoS 0 messages skipped because its backlog was above {@code max.backlog.bytes}
 * @param lastError       the message of the last failure, or null
 * @param lastWriteTime   epoch millis of the last successful write, or 0
 */
public record SinkInfo(String name, String state, List<String> topics, long written, long pendingRecords,
                       long pendingBytes, long retries, long failed, long skipped, String lastError,
                       long lastWriteTime) {
}
