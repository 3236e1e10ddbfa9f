package io.brokkr.api.storage;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A storage connector: writes the messages that match its topic filters into a database or another store.
 *
 * <p>The broker puts every message that some sink matches into its disk journal once, before it acknowledges a
 * QoS 1/2 message to its publisher; each sink then reads the journal from its own position, which survives a stop
 * of the sink's bundle, an update, a re-install and a broker restart. A sink is known to the broker by its
 * {@linkplain #NAME name}, not by its service id, so that a replaced service continues where the old one stopped.
 *
 * <p>Delivery is at least once: after a failure or a restart a record may be written again. Each record carries an
 * {@linkplain SinkRecord#id() id} that never changes; a sink writes it so that a second write of the same id leaves
 * one copy in the store (a primary key, {@code _id}, a Redis stream entry id or key), which makes the store hold every
 * message exactly once.
 *
 * <p>Service properties read by the broker (a connector's DS component passes its configuration through, so they are
 * the connector's cfg keys): {@link #NAME}, {@link #TOPICS}, {@link #BATCH_SIZE}, {@link #BATCH_LINGER_MS},
 * {@link #MAX_BACKLOG_BYTES}. {@link #FORMAT} and {@link #FIELDS} are read by the connector through
 * {@link RecordFormat}.
 */
@ConsumerType
public interface MessageSink {

    /**
     * The sink's stable name, used for its journal position, its metrics and the shell. Default: the service's
     * {@code service.pid} (for a factory configuration {@code io.brokkr.connector.redis~NAME}), else
     * {@code component.name}.
     */
    String NAME = "sink.name";
    /** Topic filters (String or String[], comma separated allowed), default {@code #}. */
    String TOPICS = "topics";
    /** Most records in one {@link #write} call, default 500. */
    String BATCH_SIZE = "batch.size";
    /** How long a batch that is not full waits for more records, default 5 ms. */
    String BATCH_LINGER_MS = "batch.linger.ms";
    /**
     * Journal backlog (bytes not yet written by this sink) above which QoS 0 messages for this sink are skipped and
     * counted; QoS 1/2 messages are never skipped. Default 256 MiB.
     */
    String MAX_BACKLOG_BYTES = "max.backlog.bytes";
    /**
     * For a sink the broker does not know yet: the name of a known sink whose backlog it takes over, so that it
     * starts at that sink's position instead of at the end of the journal (swapping one connector for another without
     * a gap and without writing anything twice when the old one is stopped first). Ignored once the sink is known.
     */
    String START_FROM = "start.from";
    /** How the payload is written: {@code text} (default), {@code json} or {@code base64}; see {@link RecordFormat}. */
    String FORMAT = "format";
    /** Which fields are written, comma separated; see {@link RecordFormat}. */
    String FIELDS = "fields";

    /**
     * Writes a non-empty batch, in order. Complete the stage once the records are durably written; complete it
     * exceptionally to have the same batch retried with back-off (the sink's position does not move). Called by one
     * broker thread per sink, never concurrently with itself; may block briefly, or return at once and complete later.
     */
    CompletionStage<Void> write(List<SinkRecord> batch);
}
