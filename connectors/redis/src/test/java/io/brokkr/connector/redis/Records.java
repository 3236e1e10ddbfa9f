package io.brokkr.connector.redis;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Test records and component configurations. */
final class Records {

    /** 2026-11-29T23:59:01.123Z */
    static final long TIME = 1_795_996_741_123L;

    private Records() {
    }

    static SinkRecord record(long seq, String topic, String payload) {
        return record(seq, topic, payload.getBytes(StandardCharsets.UTF_8), MessageProperties.NONE);
    }

    static SinkRecord record(long seq, String topic, byte[] payload, MessageProperties props) {
        return new SinkRecord("j1-" + seq, seq, new Message(topic, payload, 1, false, props, "client-1", TIME), "alice");
    }

    /** Records with sequences from..to (inclusive), spread round robin over {@code topics}. */
    static List<SinkRecord> batch(long from, long to, String... topics) {
        List<SinkRecord> out = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            out.add(record(s, topics[(int) (s % topics.length)], "m" + s));
        }
        return out;
    }

    static Map<String, Object> config(Object... keyValues) {
        Map<String, Object> m = new HashMap<>();
        m.put("component.name", "io.brokkr.connector.redis");
        m.put("service.pid", "io.brokkr.connector.redis~test");
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }
}
