package io.brokkr.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The force interval ({@link JournalConfig#forceInterval()}: appends complete once written, the file is forced
 * periodically, at a roll and at close) and the disk bound ({@link JournalConfig#maxDiskBytes()}).
 */
class JournalForceIntervalAndBoundTest extends JournalTestBase {

  @Test
  void withAForceIntervalAppendsCompleteWithoutAForceAndCloseForcesThem() throws Exception {
    Journal j = open(JournalConfig.builder(dir).forceInterval(Duration.ofHours(1)).build());
    Cursor c = j.cursor("sink");
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      fs.add(j.append(body("m" + i)));
    }
    for (int i = 0; i < 200; i++) {
      assertEquals(i + 1, fs.get(i).get(10, TimeUnit.SECONDS));
    }
    assertEquals(0, j.stats().fsyncs(), "no force before the interval");
    assertEquals(0, j.forcedSequence());
    assertEquals(200, j.lastSequence());
    List<JournalRecord> read = c.poll(1000, Long.MAX_VALUE);
    assertEquals(200, read.size(), "written records are readable before they are forced");
    assertEquals("m199", new String(read.get(199).body(), StandardCharsets.UTF_8));
    j.close();
    assertEquals(1, j.stats().fsyncs(), "close forces the active segment");
    assertEquals(200, j.forcedSequence());

    Journal again = open(JournalConfig.defaults(dir));
    assertEquals(200, again.lastSequence());
    assertEquals(201, again.append(body("next")).get(10, TimeUnit.SECONDS));
  }

  @Test
  void withAForceIntervalTheFileIsForcedPeriodically() throws Exception {
    Journal j = open(JournalConfig.builder(dir).forceInterval(Duration.ofMillis(20)).build());
    long last = 0;
    for (int i = 0; i < 50; i++) {
      last = j.append(body("m" + i)).get(10, TimeUnit.SECONDS);
    }
    long upTo = last;
    waitUntil("the periodic force covered every record", () -> j.forcedSequence() == upTo);
    long fsyncs = j.stats().fsyncs();
    assertTrue(fsyncs >= 1 && fsyncs < 50, "forces are periodic, not per batch: " + fsyncs);
    Thread.sleep(100);
    assertEquals(fsyncs, j.stats().fsyncs(), "nothing new written, nothing forced");
  }

  @Test
  void withAForceIntervalARollForcesTheSegmentItLeaves() throws Exception {
    Journal j = open(JournalConfig.builder(dir).segmentBytes(4096).forceInterval(Duration.ofHours(1)).build());
    long last = 0;
    for (int i = 0; i < 100; i++) {
      last = j.append(new byte[100]).get(10, TimeUnit.SECONDS); // 116 bytes each: 35 per segment
    }
    assertEquals(100, last);
    assertTrue(j.forcedSequence() >= 35, "rolled segments are forced: " + j.forcedSequence());
    assertTrue(j.forcedSequence() < 100, "the active one waits for the interval: " + j.forcedSequence());
  }

  @Test
  void theDiskBoundRefusesAppendsUntilCursorsCommitAndSegmentsAreReleased() throws Exception {
    Journal j = open(JournalConfig.builder(dir).segmentBytes(4096).maxDiskBytes(16 * 1024)
        .cursorSaveInterval(Duration.ofMillis(10)).build());
    Cursor c = j.cursor("slow");
    int accepted = 0;
    Throwable refused = null;
    for (int i = 0; i < 1000 && refused == null; i++) {
      try {
        j.append(new byte[100]).get(10, TimeUnit.SECONDS);
        accepted++;
      } catch (ExecutionException e) {
        refused = e.getCause();
      }
    }
    assertInstanceOf(JournalFullException.class, refused);
    assertTrue(refused.getMessage().contains("maxDiskBytes 16384"), refused.getMessage());
    assertTrue(accepted >= 100 && accepted <= 16 * 1024 / 116, "accepted " + accepted);
    assertTrue(j.usedBytes() <= 16 * 1024, "used " + j.usedBytes());
    assertTrue(j.append(new byte[100]).isCompletedExceptionally(), "refused at once, not queued");

    long lastSeq = j.lastSequence();
    c.commit(lastSeq);
    waitUntil("a commit released segments and appends are taken again", () -> {
      try {
        j.append(new byte[100]).get(10, TimeUnit.SECONDS);
        return true;
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void aBoundBelowTheSegmentSizeDoesNotKeepTheJournalFullForGood() throws Exception {
    Journal j = open(JournalConfig.builder(dir).maxDiskBytes(8 * 1024).forceInterval(Duration.ofMillis(5))
        .cursorSaveInterval(Duration.ofMillis(10)).build()); // 64 MiB segments: a roll never comes by size
    Cursor c = j.cursor("sink");
    for (int round = 0; round < 3; round++) {
      boolean full = false;
      while (!full) {
        CompletableFuture<Long> f = j.append(new byte[100]);
        full = f.isCompletedExceptionally();
        if (!full) {
          f.get(10, TimeUnit.SECONDS);
        }
      }
      c.commit(j.lastSequence());
      waitUntil("the fully released active segment was rolled and deleted", () -> j.usedBytes() < 1024);
    }
    assertEquals(1, j.stats().segments());
  }

  @Test
  void withAForceIntervalTheFileIsForcedAlsoWhileAppendsNeverStop() throws Exception {
    Journal j = open(JournalConfig.builder(dir).segmentBytes(1L << 30).forceInterval(Duration.ofMillis(20)).build());
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    List<Thread> appenders = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread a = new Thread(() -> {
        byte[] b = new byte[100];
        while (!stop.get()) {
          j.append(b); // keeps the queue full: the writer never finds it empty (a full queue refuses, no matter)
        }
      });
      a.setDaemon(true);
      a.start();
      appenders.add(a);
    }
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (j.forcedSequence() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertTrue(j.forcedSequence() > 0, "forced while the appends go on (last sequence " + j.lastSequence() + ")");
      assertEquals(1, j.stats().segments(), "no roll forced it");
    } finally {
      stop.set(true);
      for (Thread a : appenders) {
        a.join();
      }
    }
  }
}
