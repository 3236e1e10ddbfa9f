package io.brokkr.broker.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.broker.config.BrokerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's writer wakes a sink thread that waits for records only (not one that lingers for a batch to fill or
 * backs off): a record appended while the thread waits reaches the sink at once, not after the thread's fallback
 * wait of a second, also when it comes right after the previous batch (the thread just went back to waiting).
 */
class SinkWakeUpTest {

    @TempDir
    Path dir;

    @Test
    void aSinkWaitingForRecordsIsWokenByEachAppend() throws Exception {
        LinkedBlockingQueue<Long> written = new LinkedBlockingQueue<>();
        try (SinkHub hub = SinkHub.open(dir, BrokerConfig.defaults())) {
            hub.bind("wake", batch -> {
                long now = System.nanoTime();
                for (SinkRecord r : batch) {
                    written.add(now);
                }
                return CompletableFuture.completedFuture(null);
            }, Map.of("topics", "#"));
            List<Long> delaysMs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Thread.sleep(i % 2 == 0 ? 50 : 0); // idle, or right after the previous write
                Message m = new Message("t/" + i, new byte[] {(byte) i}, 1, false, MessageProperties.NONE, "c",
                        System.currentTimeMillis());
                long t0 = System.nanoTime();
                hub.append(m, null).get(10, TimeUnit.SECONDS);
                Long at = written.poll(10, TimeUnit.SECONDS);
                assertTrue(at != null, "message " + i + " reached the sink");
                delaysMs.add(TimeUnit.NANOSECONDS.toMillis(at - t0));
            }
            assertEquals(0, written.size());
            // a lost wake-up costs the thread's fallback wait, 1,000 ms; allow a few slow ones on a loaded machine
            long slow = delaysMs.stream().filter(d -> d >= 500).count();
            assertTrue(slow <= 3, "appends that reached the waiting sink only after 500 ms or more: " + delaysMs);
        }
    }

    /**
     * A sink stopped while its thread is between deciding to go on and reading its batch settings stops at once. The
     * thread used to take the sink's monitor to read them, which the stop holds while it waits for the thread: the
     * stop then waited its full 10 s (seen in 1 of 8 runs of SinkJournalTest's paused-sink test, a bind followed
     * at once by a stop; a connector stop or uninstall could hit it too). The hook holds the thread in that gap.
     */
    @Test
    void aSinkStoppedWhileItsThreadStartsATurnStopsAtOnce() throws Exception {
        java.util.concurrent.CountDownLatch inGap = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        SinkRunner.beforeBatch = () -> {
            if (first.getAndSet(false)) {
                inGap.countDown();
                try {
                    Thread.sleep(300); // the stop below takes the sink's monitor meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (SinkHub hub = SinkHub.open(dir, BrokerConfig.defaults())) {
            hub.bind("gap", batch -> CompletableFuture.completedFuture(null), Map.of("topics", "#"));
            assertTrue(inGap.await(10, TimeUnit.SECONDS), "the sink thread started");
            long t0 = System.nanoTime();
            assertTrue(hub.setRunning("gap", false));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(millis < 2_000, "the stop took " + millis + " ms");
        } finally {
            SinkRunner.beforeBatch = null;
        }
    }
}
