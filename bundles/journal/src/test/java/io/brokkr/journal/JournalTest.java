package io.brokkr.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

class JournalTest extends JournalTestBase {

  private Journal open() throws IOException {
    return open(JournalConfig.builder(dir).cursorSaveInterval(Duration.ofMillis(10)).build());
  }

  private Journal openSmallSegments() throws IOException {
    return open(JournalConfig.builder(dir).segmentBytes(4096).cursorSaveInterval(Duration.ofMillis(10)).build());
  }

  private static String text(JournalRecord r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  private static long append(Journal j, String s) throws Exception {
    return j.append(body(s)).get(10, TimeUnit.SECONDS);
  }

  private List<Path> segmentFiles() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".seg")).sorted().toList();
    }
  }

  private static List<JournalRecord> pollAll(Cursor c) {
    List<JournalRecord> all = new ArrayList<>();
    for (List<JournalRecord> batch = c.poll(100, Long.MAX_VALUE); !batch.isEmpty();
         batch = c.poll(100, Long.MAX_VALUE)) {
      all.addAll(batch);
    }
    return all;
  }

  /**
   * A batch's records wait for submit() (nothing reaches the writer before), then go to the writer at once, in the
   * order added; with a completions executor their listeners are told on it, in sequence order, in one task per
   * executor and written batch (the broker hands an event loop's acknowledgements back to it this way); an executor
   * that refuses the task has its listeners told on the writer thread; records appended alone are told there too.
   */
  @Test
  void aBatchGoesToTheWriterAtSubmitAndItsListenersAreToldOnItsExecutor() throws Exception {
    // the writer parks for up to the cursor save interval when it has nothing to do
    Journal j = open(JournalConfig.builder(dir).cursorSaveInterval(Duration.ofSeconds(30)).build());
    long first = append(j, "first");
    Thread.sleep(200); // written and forced: the writer is parked
    java.util.concurrent.ExecutorService loopA = java.util.concurrent.Executors.newSingleThreadExecutor(
        r -> new Thread(r, "loop-a"));
    AtomicInteger tasksA = new AtomicInteger();
    java.util.concurrent.Executor a = r -> {
      tasksA.incrementAndGet();
      loopA.execute(r);
    };
    java.util.concurrent.Executor refusing = r -> {
      throw new java.util.concurrent.RejectedExecutionException("shut down");
    };
    List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
    CountDownLatch all = new CountDownLatch(6);
    class L implements AppendListener {
      final String name;

      L(String name) {
        this.name = name;
      }

      @Override
      public void appended(long sequence) {
        told.add(name + "@" + (sequence - first) + " on " + Thread.currentThread().getName());
        all.countDown();
      }

      @Override
      public void appendFailed(Throwable error) {
        throw new AssertionError(error);
      }
    }
    try {
      Journal.AppendBatch onA = j.batch(a);
      Journal.AppendBatch onRefusing = j.batch(refusing);
      for (int i = 0; i < 4; i++) {
        assertEquals(null, onA.add(body("a" + i), new L("a" + i)));
      }
      assertEquals(null, onRefusing.add(body("r"), new L("r")));
      assertEquals(4, onA.size());
      assertFalse(all.await(300, TimeUnit.MILLISECONDS), "told before submit(): " + told);
      assertEquals(first, j.lastSequence(), "nothing reached the writer before submit()");
      onA.submit();
      assertEquals(0, onA.size(), "empty after submit(), reusable");
      onRefusing.submit();
      assertEquals(null, j.append(body("w"), new L("w"))); // alone: wakes the writer
      assertTrue(all.await(10, TimeUnit.SECONDS), "told: " + told);
      assertEquals(1, tasksA.get(), "one task for the four records of one written batch: " + told);
      assertEquals(List.of("a0@1 on loop-a", "a1@2 on loop-a", "a2@3 on loop-a", "a3@4 on loop-a"),
          told.stream().filter(t -> t.endsWith(" on loop-a")).toList());
      String writer = " on brokkr-journal-" + dir.getFileName();
      assertTrue(told.contains("r@5" + writer), "refused: on the writer: " + told);
      assertTrue(told.contains("w@6" + writer), "appended alone: on the writer: " + told);
    } finally {
      loopA.shutdown();
    }
  }

  /**
   * A batch checks each record when it is added, counting the records not yet submitted against the bounds, and a
   * batch submitted after the journal closed tells its listeners so.
   */
  @Test
  void aBatchRefusesWhatWouldPassTheBoundAndFailsOnceClosed() throws Exception {
    Journal j = open(JournalConfig.builder(dir).maxQueuedBytes(1_000).cursorSaveInterval(Duration.ofSeconds(30))
        .build());
    Journal.AppendBatch b = j.batch(null);
    List<Throwable> failed = new java.util.concurrent.CopyOnWriteArrayList<>();
    AppendListener l = new AppendListener() {
      @Override
      public void appended(long sequence) {
      }

      @Override
      public void appendFailed(Throwable error) {
        failed.add(error);
      }
    };
    byte[] body = new byte[300]; // 316 with the header: three fit under 1,000, the fourth not
    for (int i = 0; i < 3; i++) {
      assertEquals(null, b.add(body, l));
    }
    assertInstanceOf(JournalFullException.class, b.add(body, l), "the unsubmitted records count");
    assertInstanceOf(IllegalArgumentException.class, b.add(new byte[j.config().maxRecordBytes() + 1], l));
    j.close();
    assertInstanceOf(JournalClosedException.class, b.add(body, l));
    b.submit();
    assertEquals(3, failed.size(), "the three added before the close are told: " + failed);
    assertTrue(failed.stream().allMatch(e -> e instanceof JournalClosedException), failed.toString());
  }

  @Test
  void appendPollCommit() throws Exception {
    Journal j = open();
    Cursor c = j.cursor("sink");
    assertEquals(List.of(), c.poll(10, Long.MAX_VALUE));
    assertEquals(1, append(j, "a"));
    assertEquals(2, append(j, "bb"));
    List<JournalRecord> got = c.poll(10, Long.MAX_VALUE);
    assertEquals(List.of("a", "bb"), got.stream().map(JournalTest::text).toList());
    assertEquals(List.of(1L, 2L), got.stream().map(JournalRecord::sequence).toList());
    assertEquals(List.of(), c.poll(10, Long.MAX_VALUE));
    assertEquals(2, c.readPosition());
    assertEquals(0, c.committed());
    c.commit(2);
    assertEquals(2, c.committed());
    assertEquals(0, c.backlogRecords());
    assertEquals(1, j.firstSequence());
    assertEquals(2, j.lastSequence());
    assertEquals(j.id() + "-2", j.recordId(2));
  }

  @Test
  void sequencesFollowTheOrderOfAppendsAndPollRespectsItsBounds() throws Exception {
    Journal j = open();
    Cursor c = j.cursor("sink");
    List<CompletableFuture<Long>> futures = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      futures.add(j.append(body("m" + i)));
    }
    for (int i = 0; i < 500; i++) {
      assertEquals(i + 1, futures.get(i).get(10, TimeUnit.SECONDS));
    }
    List<JournalRecord> first = c.poll(7, Long.MAX_VALUE);
    assertEquals(7, first.size());
    // at least one record even if larger than maxBytes; "m8", "m9", "m10" take 2 + 2 + 3 bytes
    assertEquals(1, c.poll(100, 0).size());
    assertEquals(3, c.poll(100, 7).size());
    List<JournalRecord> rest = pollAll(c);
    List<JournalRecord> all = new ArrayList<>(first);
    all.addAll(rest);
    assertEquals(496, all.size());
    for (int i = 0; i < 7; i++) {
      assertEquals(i + 1, all.get(i).sequence());
      assertEquals("m" + i, text(all.get(i)));
    }
    for (int i = 7; i < all.size(); i++) {
      assertEquals(i + 5, all.get(i).sequence());
      assertEquals("m" + (i + 4), text(all.get(i)));
    }
  }

  @Test
  void manyConcurrentAppendersLoseNothingAndShareNoSequence() throws Exception {
    Journal j = open();
    Cursor c = j.cursor("sink");
    int threads = 8;
    int each = 2000;
    Map<Long, String> bySequence = new ConcurrentHashMap<>();
    AtomicInteger duplicates = new AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int tt = t;
      ts.add(new Thread(() -> {
        List<CompletableFuture<Long>> fs = new ArrayList<>();
        for (int i = 0; i < each; i++) {
          fs.add(j.append(body(tt + "/" + i)));
        }
        for (int i = 0; i < each; i++) {
          long seq = fs.get(i).join();
          if (bySequence.put(seq, tt + "/" + i) != null) {
            duplicates.incrementAndGet();
          }
        }
      }));
    }
    ts.forEach(Thread::start);
    for (Thread t : ts) {
      t.join(20_000);
    }
    assertEquals(0, duplicates.get());
    assertEquals(threads * each, bySequence.size());
    assertEquals(threads * each, j.lastSequence());
    List<JournalRecord> all = pollAll(c);
    assertEquals(threads * each, all.size());
    for (int i = 0; i < all.size(); i++) {
      assertEquals(i + 1, all.get(i).sequence());
      assertEquals(bySequence.get(all.get(i).sequence()), text(all.get(i)));
    }
    // each appender's records are in its own order
    Map<String, Integer> lastOfThread = new ConcurrentHashMap<>();
    for (JournalRecord r : all) {
      String[] p = text(r).split("/");
      Integer prev = lastOfThread.put(p[0], Integer.parseInt(p[1]));
      assertTrue(prev == null || prev < Integer.parseInt(p[1]), "order of thread " + p[0]);
    }
  }

  @Test
  void groupCommitForcesOncePerBatch() throws Exception {
    Journal j = open();
    // hold the writer thread in a listener while 8 threads append: everything they append waits in the queue, and
    // must then go to disk in batches of maxBatchRecords (4096) with one force each
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Cursor c = j.cursor("sink");
    c.onAvailable(() -> {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertEquals(1, j.append(new byte[64]).get(10, TimeUnit.SECONDS));
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    long fsyncsBefore = j.stats().fsyncs();
    int threads = 8;
    int each = 2000;
    List<CompletableFuture<Long>> all = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      ts.add(new Thread(() -> {
        for (int i = 0; i < each; i++) {
          all.add(j.append(new byte[64]));
        }
      }));
    }
    ts.forEach(Thread::start);
    for (Thread t : ts) {
      t.join(20_000);
    }
    c.onAvailable(null);
    release.countDown();
    for (CompletableFuture<Long> f : all) {
      f.get(10, TimeUnit.SECONDS);
    }
    JournalStats s = j.stats();
    assertEquals(1 + threads * each, s.appends());
    long batches = (threads * each + 4095) / 4096;
    assertEquals(batches, s.fsyncs() - fsyncsBefore, "one force per batch of 4096");
    assertEquals((1 + threads * each) * (64L + 16), s.bytesWritten());
  }

  @Test
  void concurrentAppendersShareForces() throws Exception {
    Journal j = open();
    int threads = 8;
    int each = 2000;
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      ts.add(new Thread(() -> {
        List<CompletableFuture<Long>> fs = new ArrayList<>();
        for (int i = 0; i < each; i++) {
          fs.add(j.append(new byte[64]));
        }
        fs.forEach(CompletableFuture::join);
      }));
    }
    ts.forEach(Thread::start);
    for (Thread t : ts) {
      t.join(20_000);
    }
    JournalStats s = j.stats();
    assertEquals(threads * each, s.appends());
    // how many share a force depends on the scheduling; that they share at all is the point
    assertTrue(s.fsyncs() < s.appends(), "fsyncs " + s.fsyncs() + " for " + s.appends() + " appends");
  }

  @Test
  void reopenKeepsIdCursorsAndPositionsAndContinuesSequences() throws Exception {
    Journal j = open();
    String id = j.id();
    Cursor a = j.cursor("a");
    Cursor b = j.cursor("b");
    for (int i = 1; i <= 10; i++) {
      append(j, "r" + i);
    }
    assertEquals(10, a.poll(100, Long.MAX_VALUE).size());
    a.commit(7);
    b.poll(3, Long.MAX_VALUE);
    b.commit(2);
    j.close();
    assertThrows(IllegalStateException.class, () -> a.poll(1, 1));

    Journal k = open();
    assertEquals(id, k.id());
    assertEquals(Set.of("a", "b"), k.cursorNames());
    assertEquals(10, k.lastSequence());
    Cursor a2 = k.cursor("a");
    assertEquals(7, a2.committed());
    assertEquals(3, a2.backlogRecords());
    // the records after the committed position are delivered again
    assertEquals(List.of(8L, 9L, 10L), pollAll(a2).stream().map(JournalRecord::sequence).toList());
    Cursor b2 = k.cursor("b");
    assertEquals(2, b2.committed());
    assertEquals("r3", text(b2.poll(1, Long.MAX_VALUE).get(0)));
    assertEquals(11, append(k, "r11"));
    assertEquals("r11", text(pollAll(a2).get(0)));
  }

  @Test
  void sequencesContinueAfterEverySegmentWasReleased() throws Exception {
    Journal j = openSmallSegments();
    String id = j.id();
    for (int i = 0; i < 40; i++) {
      append(j, "x".repeat(500));
    }
    j.close();
    Journal k = openSmallSegments();
    assertEquals(id, k.id());
    assertEquals(40, k.lastSequence());
    assertEquals(41, append(k, "after"));
  }

  @Test
  void aTornTailIsTruncatedAndNothingAcknowledgedIsLost() throws Exception {
    Journal j = open();
    j.cursor("sink");
    for (int i = 1; i <= 10; i++) {
      append(j, "record-" + i);
    }
    j.close();
    opened.remove(j);
    Path seg = segmentFiles().get(0);
    long size = Files.size(seg);
    // a crash in the middle of writing record 11: its header and part of its body reached the file
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      f.seek(size);
      f.writeInt(100);
      f.writeInt(12345);
      f.writeLong(11);
      f.write(new byte[40]);
    }
    Journal k = open();
    assertEquals(size, Files.size(seg), "the torn record is cut off");
    assertEquals(10, k.lastSequence());
    Cursor c = k.cursor("sink");
    List<JournalRecord> got = pollAll(c);
    assertEquals(10, got.size());
    assertEquals("record-10", text(got.get(9)));
    assertEquals(11, append(k, "new-11"), "the torn record was never acknowledged: its sequence is used again");
    assertEquals("new-11", text(pollAll(c).get(0)));
  }

  @Test
  void aRecordCutShortOnDiskIsDroppedAndItsSequenceNotReused() throws Exception {
    Journal j = open();
    j.cursor("sink");
    for (int i = 1; i <= 10; i++) {
      append(j, "record-" + i);
    }
    j.close();
    opened.remove(j);
    Path seg = segmentFiles().get(0);
    long size = Files.size(seg);
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      f.setLength(size - 5); // record 10, acknowledged, lost by the disk
    }
    Journal k = open();
    assertEquals(size - 5 - (Journal.HEADER + "record-10".length() - 5), Files.size(seg));
    Cursor c = k.cursor("sink");
    List<JournalRecord> got = pollAll(c);
    assertEquals(9, got.size());
    assertEquals("record-9", text(got.get(8)));
    // a consumer may have seen record 10 under its id: the sequence is never handed out again
    assertEquals(11, append(k, "new-11"));
    assertEquals("new-11", text(pollAll(c).get(0)));
  }

  @Test
  void aFlippedByteTruncatesAtTheCorruptRecord() throws Exception {
    Journal j = open();
    j.cursor("sink");
    long[] ends = new long[11];
    for (int i = 1; i <= 10; i++) {
      append(j, "record-" + i);
      ends[i] = j.stats().diskBytes();
    }
    j.close();
    opened.remove(j);
    Path seg = segmentFiles().get(0);
    try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
      long pos = ends[4] + Journal.HEADER + 2; // a byte in the body of record 5
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0x40);
    }
    Journal k = open();
    assertEquals(ends[4], Files.size(seg));
    assertEquals(1, k.firstSequence());
    Cursor c = k.cursor("sink");
    List<JournalRecord> got = pollAll(c);
    assertEquals(List.of("record-1", "record-2", "record-3", "record-4"),
        got.stream().map(JournalTest::text).toList());
    assertEquals(4, c.backlogRecords());
    assertEquals(11, append(k, "new-11"));
    assertEquals(List.of(11L), pollAll(c).stream().map(JournalRecord::sequence).toList());
  }

  @Test
  void aCorruptRecordInAnOlderSegmentKeepsTheLaterSegmentsAndCursorsSkipTheGap() throws Exception {
    Journal j = openSmallSegments();
    j.cursor("sink");
    for (int i = 1; i <= 12; i++) {
      append(j, i + "-" + "x".repeat(980)); // about 1000 bytes: 4 records per segment
    }
    j.close();
    opened.remove(j);
    List<Path> segs = segmentFiles();
    assertEquals(3, segs.size());
    try (RandomAccessFile f = new RandomAccessFile(segs.get(0).toFile(), "rw")) {
      long pos = 2 * 1000 + Journal.HEADER + 10; // in the body of record 3
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0x01);
    }
    Journal k = openSmallSegments();
    assertEquals(12, k.lastSequence());
    Cursor c = k.cursor("sink");
    assertEquals(10, c.backlogRecords(), "records 3 and 4 are lost");
    List<Long> seqs = pollAll(c).stream().map(JournalRecord::sequence).toList();
    assertEquals(List.of(1L, 2L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L), seqs);
  }

  @Test
  void aSinkPollingWhileOthersAppendGetsEverythingInOrder() throws Exception {
    Journal j = open(JournalConfig.builder(dir).segmentBytes(64 << 10).cursorSaveInterval(Duration.ofMillis(10))
        .build()); // about 16 segments
    Cursor c = j.cursor("sink");
    int threads = 4;
    int each = 1500;
    java.util.concurrent.Semaphore available = new java.util.concurrent.Semaphore(0);
    c.onAvailable(available::release);
    List<JournalRecord> got = new ArrayList<>();
    Thread sink = new Thread(() -> {
      try {
        while (got.size() < threads * each) {
          available.tryAcquire(10, TimeUnit.SECONDS);
          available.drainPermits();
          for (List<JournalRecord> b = c.poll(37, 4000); !b.isEmpty(); b = c.poll(37, 4000)) {
            got.addAll(b);
            c.commit(b.get(b.size() - 1).sequence());
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    sink.start();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int tt = t;
      ts.add(new Thread(() -> {
        for (int i = 0; i < each; i++) {
          j.append(body(tt + "/" + i + "/" + "p".repeat(i % 300)));
        }
      }));
    }
    ts.forEach(Thread::start);
    for (Thread t : ts) {
      t.join(20_000);
    }
    sink.join(20_000);
    assertFalse(sink.isAlive());
    assertEquals(threads * each, got.size());
    for (int i = 0; i < got.size(); i++) {
      assertEquals(i + 1, got.get(i).sequence());
    }
    waitUntil("the committed segments are released", () -> j.stats().segments() == 1);
  }

  @Test
  void aSegmentIsDeletedOnlyAfterEveryCursorCommittedPastIt() throws Exception {
    Journal j = openSmallSegments();
    Cursor fast = j.cursor("fast");
    Cursor slow = j.cursor("slow");
    for (int i = 0; i < 40; i++) {
      append(j, "x".repeat(984)); // 1000 bytes a record: 4 per 4 KiB segment
    }
    assertEquals(10, segmentFiles().size());
    assertEquals(10, j.stats().segments());
    assertEquals(40, pollAll(fast).size());
    fast.commit(40);
    long saves = j.stats().cursorSaves();
    waitUntil("the commit is saved", () -> j.stats().cursorSaves() > saves);
    assertEquals(10, segmentFiles().size(), "the slow cursor still needs every segment");
    assertEquals(1, j.firstSequence());

    slow.poll(10, Long.MAX_VALUE);
    slow.commit(10); // segments 1-4 and 5-8 are done, 9-12 is not
    waitUntil("two segments are released", () -> j.firstSequence() == 9);
    assertEquals(8, segmentFiles().size());
    assertEquals(32, j.stats().recordsRetained());
    assertEquals(30, slow.backlogRecords());

    slow.commit(40);
    waitUntil("all but the active segment are released", () -> j.stats().segments() == 1);
    assertEquals(1, segmentFiles().size());
    assertEquals(List.of(), slow.poll(10, Long.MAX_VALUE));
    assertEquals(41, append(j, "next"));
    assertEquals("next", text(slow.poll(10, Long.MAX_VALUE).get(0)));
  }

  @Test
  void withoutCursorsRecordsAreReleasedAtOnce() throws Exception {
    Journal j = openSmallSegments();
    for (int i = 0; i < 40; i++) {
      append(j, "x".repeat(984));
    }
    assertTrue(segmentFiles().size() <= 2, "segments: " + segmentFiles());
    assertTrue(j.firstSequence() > 30);
    Cursor late = j.cursor("late");
    assertEquals(0, late.backlogRecords());
    assertEquals(List.of(), late.poll(10, Long.MAX_VALUE));
  }

  @Test
  void droppingTheSlowCursorReleasesItsBacklog() throws Exception {
    Journal j = openSmallSegments();
    j.cursor("gone");
    for (int i = 0; i < 40; i++) {
      append(j, "x".repeat(984));
    }
    assertEquals(10, segmentFiles().size());
    assertTrue(j.dropCursor("gone"));
    assertFalse(j.dropCursor("gone"));
    waitUntil("the backlog is released", () -> j.stats().segments() == 1);
    assertEquals(Set.of(), j.cursorNames());
  }

  @Test
  void twoCursorsAtDifferentSpeedsEachSeeEverythingInOrder() throws Exception {
    Journal j = openSmallSegments();
    Cursor fast = j.cursor("fast");
    Cursor slow = j.cursor("slow");
    int n = 300;
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      fs.add(j.append(body("m" + i)));
    }
    fs.forEach(CompletableFuture::join);
    List<String> gotFast = new ArrayList<>();
    List<String> gotSlow = new ArrayList<>();
    while (gotFast.size() < n || gotSlow.size() < n) {
      List<JournalRecord> f = fast.poll(50, Long.MAX_VALUE);
      f.forEach(r -> gotFast.add(text(r)));
      if (!f.isEmpty()) {
        fast.commit(f.get(f.size() - 1).sequence());
      }
      List<JournalRecord> s = slow.poll(3, Long.MAX_VALUE);
      s.forEach(r -> gotSlow.add(text(r)));
      if (!s.isEmpty()) {
        slow.commit(s.get(s.size() - 1).sequence());
      }
    }
    List<String> expected = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      expected.add("m" + i);
    }
    assertEquals(expected, gotFast);
    assertEquals(expected, gotSlow);
  }

  @Test
  void rewindGoesBackToTheCommittedPosition() throws Exception {
    Journal j = open();
    Cursor c = j.cursor("sink");
    for (int i = 1; i <= 5; i++) {
      append(j, "r" + i);
    }
    c.poll(2, Long.MAX_VALUE);
    c.commit(2);
    assertEquals(3, c.poll(10, Long.MAX_VALUE).size());
    c.rewind();
    assertEquals(2, c.readPosition());
    assertEquals(List.of("r3", "r4", "r5"), c.poll(10, Long.MAX_VALUE).stream().map(JournalTest::text).toList());
  }

  @Test
  void aDamagedCursorsFileStopsTheOpenInsteadOfForgettingTheCursors() throws Exception {
    Journal j = open();
    j.cursor("sink");
    append(j, "r1");
    j.close();
    opened.remove(j);
    Path cursors = dir.resolve("cursors");
    byte[] bytes = Files.readAllBytes(cursors);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(cursors, bytes);
    IOException e = assertThrows(IOException.class, this::open);
    assertTrue(e.getMessage().contains("cursors file"), e.getMessage());
    Files.delete(cursors); // an operator's decision: the cursors are gone
    Journal k = open(); // and the failed open released the lock
    assertEquals(Set.of(), k.cursorNames());
    assertEquals(1, k.lastSequence());
  }

  @Test
  void aSecondOpenOfTheSameDirectoryFailsClearly() throws Exception {
    Journal j = open();
    IOException e = assertThrows(IOException.class, () -> open());
    assertTrue(e.getMessage().contains("already open"), e.getMessage());
    j.close();
    opened.remove(j);
    open().close(); // the lock was released
  }

  @Test
  void closeCompletesPendingAppendsAndRefusesLaterOnes() throws Exception {
    Journal j = open();
    j.cursor("sink");
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      fs.add(j.append(new byte[100]));
    }
    j.close();
    for (int i = 0; i < fs.size(); i++) {
      assertTrue(fs.get(i).isDone(), "append " + i + " completed by close");
      assertEquals(i + 1, fs.get(i).get());
    }
    ExecutionException e = assertThrows(ExecutionException.class, () -> j.append(new byte[1]).get());
    assertInstanceOf(JournalClosedException.class, e.getCause());
    assertThrows(IllegalStateException.class, () -> j.cursor("x"));
    j.close(); // idempotent
    opened.remove(j);
    Journal k = open();
    assertEquals(5000, k.lastSequence());
    assertEquals(5000, k.cursor("sink").backlogRecords());
  }

  @Test
  void onAvailableFiresForNewDurableRecords() throws Exception {
    Journal j = open();
    Cursor c = j.cursor("sink");
    CountDownLatch fired = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    c.onAvailable(() -> {
      calls.incrementAndGet();
      fired.countDown();
    });
    assertEquals(0, calls.get(), "nothing to read yet");
    j.append(body("x"));
    assertTrue(fired.await(10, TimeUnit.SECONDS));
    assertEquals(1, c.poll(10, Long.MAX_VALUE).size());

    // set while records are waiting: called at once
    append(j, "y");
    CountDownLatch now = new CountDownLatch(1);
    c.onAvailable(now::countDown);
    assertEquals(0, now.getCount());
    c.poll(10, Long.MAX_VALUE);
    c.onAvailable(null);
    // once this append is acknowledged, the writer has finished notifying for the batch of "y" (it may still have
    // seen the first listener there)
    append(j, "z");
    int before = calls.get();
    append(j, "z2");
    append(j, "z3"); // the notification of z2's batch is over too
    assertEquals(before, calls.get(), "removed listener not called");
  }

  @Test
  void backlogCountsRecordsAndBodyBytesAfterTheCommittedPosition() throws Exception {
    Journal j = openSmallSegments();
    Cursor c = j.cursor("sink");
    append(j, "x".repeat(10));
    append(j, "x".repeat(20));
    append(j, "x".repeat(30));
    for (int i = 0; i < 10; i++) {
      append(j, "y".repeat(1000)); // spread over several segments
    }
    assertTrue(j.stats().segments() > 2);
    assertEquals(13, c.backlogRecords());
    assertEquals(10060, c.backlogBytes());
    c.poll(2, Long.MAX_VALUE);
    assertEquals(13, c.backlogRecords(), "polled but not committed is still backlog");
    c.commit(2);
    assertEquals(11, c.backlogRecords());
    assertEquals(10030, c.backlogBytes());
    c.commit(9);
    assertEquals(4, c.backlogRecords());
    assertEquals(4000, c.backlogBytes());
    c.commit(100); // clamped to the last sequence
    assertEquals(13, c.committed());
    assertEquals(0, c.backlogRecords());
    assertEquals(0, c.backlogBytes());
  }

  @Test
  void aFullQueueFailsFastInsteadOfBlocking() throws Exception {
    Journal j = open(JournalConfig.builder(dir).maxQueuedBytes(10_000).build());
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    // a listener that waits holds the writer thread (it runs there after a batch): appends pile up in the queue
    j.cursor("sink").onAvailable(() -> {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    CompletableFuture<Long> held = j.append(new byte[10]);
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      fs.add(j.append(new byte[984])); // 1000 bytes queued each
    }
    long refused = fs.stream().filter(CompletableFuture::isCompletedExceptionally).count();
    assertEquals(10, refused, "10 appends of 1000 bytes fill the 10,000 bytes, the other 10 are refused");
    ExecutionException e = assertThrows(ExecutionException.class, () -> fs.get(19).get());
    assertInstanceOf(JournalFullException.class, e.getCause());
    release.countDown();
    assertEquals(1, held.get(10, TimeUnit.SECONDS));
    j.cursor("sink").onAvailable(null);
    Set<Long> seqs = new HashSet<>();
    for (CompletableFuture<Long> f : fs) {
      if (!f.isCompletedExceptionally()) {
        seqs.add(f.get(10, TimeUnit.SECONDS));
      }
    }
    assertEquals(20 - refused, seqs.size());
    assertEquals(0, j.stats().queuedBytes());
    assertNotEquals(0, append(j, "accepted again"));
  }
}
