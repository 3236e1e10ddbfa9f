package io.brokkr.api.storage;

import io.brokkr.api.Message;
import java.util.Objects;

/**
 * A message as a {@link MessageSink} receives it.
 *
 * @param id        stable across retries and restarts: the broker's journal id and the record's sequence
 *                  ({@code 5f0c…-1042}); a store keys the record by it so that a re-write is idempotent
 * @param sequence  the record's sequence in the journal (increasing in publish order)
 * @param message   the message as routed (topic, payload, QoS, retain, MQTT 5 properties, publisher client id,
 *                  receive time in epoch milliseconds)
 * @param username  the publisher's user name, or null (anonymous, or a message published by the broker)
 */
public record SinkRecord(String id, long sequence, Message message, String username) {

    public SinkRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(message, "message");
    }
}
