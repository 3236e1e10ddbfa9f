package io.brokkr.broker.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The {@code datetime} field every connector writes is {@code Instant.ofEpochMilli(time).toString()}, although
 * {@link RecordFormat} formats the date and time of day only once per second: whole seconds, one to three digits of
 * milliseconds, before 1970, years past 9999, runs within one second and back and forth, from several threads.
 */
class RecordFormatDateTimeTest {

    private static final RecordFormat FORMAT = new RecordFormat(RecordFormat.Payload.TEXT,
            EnumSet.of(RecordFormat.Field.DATETIME));

    private static String datetime(long millis) {
        Message m = new Message("t", "x".getBytes(StandardCharsets.UTF_8), 1, false, MessageProperties.NONE, "c",
                millis);
        return (String) FORMAT.toMap(new SinkRecord("id-1", 1, m, null)).get("datetime");
    }

    private static void check(long millis) {
        assertEquals(Instant.ofEpochMilli(millis).toString(), datetime(millis), "epoch millis " + millis);
    }

    @Test
    void sameTextAsInstantToString() {
        long[] edges = {0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1_764_460_800_000L, 1_764_460_800_007L,
            1_764_460_800_070L, 1_764_460_800_700L, 1_764_460_859_999L, -1, -999, -1000, -1001, -86_400_000L,
            253_402_300_799_999L, 253_402_300_800_000L, 253_402_300_800_001L, -62_167_219_200_000L,
            -62_167_219_200_001L, Long.MAX_VALUE / 1000, Long.MIN_VALUE / 1000};
        for (long t : edges) {
            check(t);
        }
        // a run of records within a second, then the next second, then back (journal order is not time order)
        for (long t = 1_764_460_800_000L; t < 1_764_460_802_000L; t += 7) {
            check(t);
        }
        check(1_764_460_800_123L);
        Random random = new Random(42);
        for (int i = 0; i < 100_000; i++) {
            check(random.nextLong(-4_000_000_000_000L, 4_000_000_000_000L));
        }
    }

    @Test
    void threadsFormattingDifferentSecondsGetTheirOwn() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                long base = 1_764_460_800_000L + k * 3_600_000L;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 200_000; i++) {
                        check(base + (i % 5_000) * 3L);
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
