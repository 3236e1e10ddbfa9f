package io.brokkr.connector.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.clients.elasticsearch.core.bulk.BulkOperation;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How a batch is split into parallel {@code _bulk} requests ({@link EsWriter#split}), without a server. */
class BulkSplitTest {

    static EsSettings settings(int parallel) {
        return EsSettings.from(Map.of("index", "split", "parallel.requests", Integer.toString(parallel)));
    }

    static List<SinkRecord> batch(int n, int topics) {
        List<SinkRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new SinkRecord("r-" + i, i, new Message("dev/" + (i % topics) + "/t",
                    ("m" + i).getBytes(StandardCharsets.UTF_8), 1, false, MessageProperties.NONE, "c", 1L), null));
        }
        return out;
    }

    @Test
    void eachTopicGoesWholeAndInOrderIntoOneRequest() {
        List<SinkRecord> batch = batch(1000, 10);
        List<List<BulkOperation>> parts = EsWriter.split(batch, settings(2));
        assertEquals(2, parts.size());
        Map<String, Integer> partOfTopic = new HashMap<>();
        Set<String> ids = new HashSet<>();
        for (int p = 0; p < parts.size(); p++) {
            int last = -1;
            for (BulkOperation op : parts.get(p)) {
                String id = op.create().id();
                int seq = Integer.parseInt(id.substring(2));
                assertTrue(seq > last, "in batch order within a request");
                last = seq;
                String topic = batch.get(seq).message().topic();
                Integer first = partOfTopic.putIfAbsent(topic, p);
                assertEquals(first == null ? p : first, p, topic + ": all of a topic in one request");
                ids.add(id);
            }
        }
        assertEquals(1000, ids.size(), "every record once");
    }

    @Test
    void smallBatchesAndOneTopicStayOneRequest() {
        assertEquals(1, EsWriter.split(batch(199, 10), settings(2)).size(), "fewer than 100 per request");
        assertEquals(2, EsWriter.split(batch(200, 10), settings(2)).size());
        assertEquals(1, EsWriter.split(batch(5000, 1), settings(8)).size(), "one topic: one request, in order");
        assertEquals(1, EsWriter.split(batch(5000, 10), settings(1)).size());
        assertEquals(4, EsWriter.split(batch(5000, 64), settings(4)).size());
    }
}
