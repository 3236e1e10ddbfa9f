package io.brokkr.api.storage;

import io.brokkr.api.Message;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A storage connector that receives every routed message (optionally filtered by topic), in batches and
 * asynchronously. The broker never blocks message routing on a sink: it buffers up to a bounded number of messages
 * per sink and hands them over in batches. A batch whose stage completes exceptionally is retried (the same batch,
 * in order) with back-off, so a connector that is being replaced or whose server is down loses nothing that fits
 * in the buffer.
 *
 * <p>Service properties understood by the broker: {@code sink.topics} (String[] of topic filters, default "#"),
 * {@code sink.batch.size} (default 100), {@code sink.buffer.size} (default 100000).
 */
@ConsumerType
public interface MessageSink {

    /** Stores a non-empty batch in order; complete the stage when it is durably written. */
    CompletionStage<Void> store(List<Message> batch);
}
