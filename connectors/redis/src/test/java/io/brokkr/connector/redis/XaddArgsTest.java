package io.brokkr.connector.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The XADD arguments, encoded field by field from {@link RecordFormat#forEachField} with numbers straight to bytes,
 * are the ones the record's {@link RecordFormat#toMap} gives when each value is turned into text the plain way (the
 * connector's encoding before), for every payload format, field selection and kind of value.
 */
class XaddArgsTest {

    /** The arguments as they were built before: from the map, each value through String.valueOf or JSON. */
    private static List<String> reference(RecordFormat format, SinkRecord r) {
        List<String> out = new ArrayList<>();
        out.add(RedisWriter.entryId(r.sequence()).toString());
        Map<String, Object> map = format.toMap(r);
        if (map.isEmpty()) {
            out.add("id");
            out.add(r.id());
        }
        for (Map.Entry<String, Object> e : map.entrySet()) {
            out.add(e.getKey());
            Object v = e.getValue();
            out.add(v instanceof String s ? s
                    : v instanceof Map<?, ?> || v instanceof List<?> ? RecordFormat.toJson(v) : String.valueOf(v));
        }
        return out;
    }

    private static List<String> actual(RecordFormat format, SinkRecord r) {
        List<String> out = new ArrayList<>();
        RedisWriter.xaddArgs(format, r, b -> out.add(new String(b, StandardCharsets.UTF_8)));
        return out;
    }

    @Test
    void theArgumentsAreTheMapsValuesAsText() {
        MessageProperties props = new MessageProperties(1, 3600L, "application/json", "reply/x", new byte[] {1, 2, 3},
                List.of(new UserProperty("a", "2"), new UserProperty("c", "ü")));
        List<SinkRecord> records = List.of(
                new SinkRecord("j1-0", 0, new Message("t/a", "hello".getBytes(StandardCharsets.UTF_8), 0, false,
                        MessageProperties.NONE, "client-1", 1_795_996_741_123L), null),
                new SinkRecord("j1-7", 7, new Message("t/ü", new byte[] {(byte) 0xFF, 0, 1}, 1, true, props, null,
                        1_795_996_741_000L), "alice"),
                new SinkRecord("j1-9223372036854775807", Long.MAX_VALUE, new Message("t", "{\"v\":[1,2.5,true,null]}"
                        .getBytes(StandardCharsets.UTF_8), 2, false, props, "c", 0L), "bob"),
                new SinkRecord("j1-12", 12, new Message("t", "42".getBytes(StandardCharsets.UTF_8), 1, false,
                        MessageProperties.NONE, "c", -1L), null));
        List<Map<String, ?>> configs = List.of(Map.of(), Map.of("format", "json"), Map.of("format", "base64"),
                Map.of("fields", "id,sender,payload,time"), Map.of("fields", "qos,retain,properties"),
                Map.of("fields", "user"), Map.of("format", "json", "fields", "payload"));
        for (Map<String, ?> config : configs) {
            RecordFormat format = RecordFormat.from(config);
            for (SinkRecord r : records) {
                assertEquals(reference(format, r), actual(format, r), config + " " + r.id());
            }
        }
    }

    @Test
    void numbersAreTheirDecimalText() {
        List<Long> numbers = new ArrayList<>(List.of(Long.MAX_VALUE, Long.MIN_VALUE, -1L, -10L, -1_795_996_741_123L));
        for (long p = 1; p > 0 && p <= Long.MAX_VALUE / 10 * 10; p *= 10) { // every length, and its edges
            numbers.addAll(List.of(p - 1, p, p + 1, 2 * p - 1 > 0 ? 2 * p - 1 : p, 9 * p > 0 ? 9 * p : p));
        }
        numbers.add(1_795_996_741_123L);
        for (long n : numbers) {
            assertEquals(Long.toString(n), new String(RedisWriter.decimal(n, null), StandardCharsets.US_ASCII));
            assertEquals(Long.toString(n) + "-0",
                    new String(RedisWriter.decimal(n, "-0".getBytes(StandardCharsets.US_ASCII)),
                            StandardCharsets.US_ASCII));
        }
        for (long seq : new long[] {0, 1, 42, Long.MAX_VALUE}) {
            assertEquals(RedisWriter.entryId(seq).toString(),
                    new String(RedisWriter.entryIdBytes(seq), StandardCharsets.US_ASCII));
        }
    }
}
