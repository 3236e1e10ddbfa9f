package io.brokkr.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer does not wait for one batch's force before it writes and forces the next: up to
 * {@link Journal#MAX_FORCES_IN_FLIGHT} forces overlap, and batches still complete in sequence order.
 */
class JournalConcurrentForceTest {

  @TempDir
  Path dir;

  @Test
  void aBatchIsForcedWhileTheOneBeforeItIsStillBeingForced() throws Exception {
    try (Journal j = Journal.open(JournalConfig.defaults(dir))) {
      CountDownLatch firstForceEntered = new CountDownLatch(1);
      CountDownLatch releaseFirst = new CountDownLatch(1);
      AtomicInteger forces = new AtomicInteger();
      j.beforeForce = () -> {
        if (forces.incrementAndGet() == 1) {
          firstForceEntered.countDown();
          try {
            releaseFirst.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
      Cursor c = j.cursor("sink");
      CompletableFuture<Long> a = j.append(new byte[] {1});
      assertTrue(firstForceEntered.await(10, TimeUnit.SECONDS));
      assertFalse(a.isDone(), "its force has not even started");

      // the first force hangs: the second batch gets a force of its own, which covers the first batch's write too
      CompletableFuture<Long> b = j.append(new byte[] {2});
      assertEquals(2L, b.get(10, TimeUnit.SECONDS));
      assertTrue(a.isDone(), "batches complete in order");
      assertEquals(1L, a.get());
      assertEquals(2, j.lastSequence());
      List<JournalRecord> read = c.poll(10, Long.MAX_VALUE);
      assertEquals(List.of(1L, 2L), read.stream().map(JournalRecord::sequence).toList());

      releaseFirst.countDown();
      assertEquals(3L, j.append(new byte[] {3}).get(10, TimeUnit.SECONDS));
      assertEquals(3, j.stats().appends());
      assertEquals(3, j.stats().fsyncs(), "one force per batch, the covered one included");
    }
  }

  @Test
  void closeWaitsForTheForcesInFlight() throws Exception {
    Journal j = Journal.open(JournalConfig.defaults(dir));
    CountDownLatch entered = new CountDownLatch(1);
    j.beforeForce = () -> {
      entered.countDown();
      try {
        Thread.sleep(300);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    CompletableFuture<Long> a = j.append(new byte[] {1});
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    j.close();
    assertEquals(1L, a.getNow(-1L), "completed before close returned");
    try (Journal again = Journal.open(JournalConfig.defaults(dir))) {
      assertEquals(1, again.lastSequence());
    }
  }
}
