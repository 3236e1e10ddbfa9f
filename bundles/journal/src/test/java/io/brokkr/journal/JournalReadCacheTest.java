package io.brokkr.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read cache ({@link JournalConfig#readCacheBytes()}): a cursor at the journal's tail gets the records just
 * written from memory, and they are exactly the records the segment files hold (read back by a cursor after a
 * reopen, when the cache is empty), across segment rolls, polls bounded by records and bytes, rewinds, evictions
 * and a reopen.
 */
class JournalReadCacheTest {

  @TempDir
  Path dir;

  private final List<Journal> opened = new ArrayList<>();

  @AfterEach
  void closeAll() {
    opened.forEach(Journal::close);
  }

  private Journal open(long readCacheBytes) throws IOException {
    Journal j = Journal.open(JournalConfig.builder(dir).segmentBytes(4096).cursorSaveInterval(Duration.ofMillis(10))
        .readCacheBytes(readCacheBytes).build());
    opened.add(j);
    return j;
  }

  private void close(Journal j) {
    j.close();
    opened.remove(j);
  }

  /** Bodies of 0 to 299 random bytes (so that 4 KiB segments roll every few dozen records). */
  private static List<byte[]> bodies(Random rnd, int n) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] b = new byte[rnd.nextInt(300)];
      rnd.nextBytes(b);
      out.add(b);
    }
    return out;
  }

  /** Appends the bodies in groups of up to 17 in flight (several records per batch), waiting for each group. */
  private static void appendAll(Journal j, List<byte[]> bodies) throws Exception {
    List<CompletableFuture<Long>> group = new ArrayList<>();
    for (byte[] b : bodies) {
      group.add(j.append(b.clone())); // the journal may hand the appended array itself to readers
      if (group.size() == 17) {
        CompletableFuture.allOf(group.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
        group.clear();
      }
    }
    CompletableFuture.allOf(group.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
  }

  /** Polls everything after the cursor's read position with bounds that change from poll to poll. */
  private static List<JournalRecord> pollAll(Cursor c, Random rnd) {
    List<JournalRecord> all = new ArrayList<>();
    while (true) {
      List<JournalRecord> batch = c.poll(1 + rnd.nextInt(40), rnd.nextBoolean() ? Long.MAX_VALUE : rnd.nextInt(2000));
      if (batch.isEmpty()) {
        return all;
      }
      all.addAll(batch);
    }
  }

  private static void assertSame(List<JournalRecord> expected, List<JournalRecord> actual) {
    assertEquals(expected.size(), actual.size(), "records");
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i).sequence(), actual.get(i).sequence(), "sequence of record " + i);
      assertArrayEquals(expected.get(i).body(), actual.get(i).body(), "body of record " + i);
    }
  }

  private static void assertBodies(List<byte[]> bodies, long firstSeq, List<JournalRecord> got) {
    assertEquals(bodies.size(), got.size(), "records");
    for (int i = 0; i < bodies.size(); i++) {
      assertEquals(firstSeq + i, got.get(i).sequence());
      assertArrayEquals(bodies.get(i), got.get(i).body(), "body of record " + (firstSeq + i));
    }
  }

  private long segmentFiles() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".seg")).count();
    }
  }

  @Test
  void aCursorAtTheTailReadsFromMemoryExactlyWhatTheFilesHoldAcrossRollsAndAReopen() throws Exception {
    Random rnd = new Random(42);
    Journal j = open(JournalConfig.DEFAULT_READ_CACHE_BYTES);
    Cursor tail = j.cursor("tail");
    j.cursor("keeper"); // never reads: keeps every segment on disk for the comparison after the reopen
    List<byte[]> first = bodies(rnd, 600);
    List<JournalRecord> fromMemory = new ArrayList<>();
    for (int i = 0; i < first.size(); i += 50) {
      appendAll(j, first.subList(i, i + 50));
      fromMemory.addAll(pollAll(tail, rnd));
    }
    assertBodies(first, 1, fromMemory);
    long[] reads = j.reads();
    assertEquals(600, reads[0], "every record read from memory (reads from memory, from the files: "
        + reads[0] + ", " + reads[1] + ")");
    assertEquals(0, reads[1]);
    assertTrue(segmentFiles() > 10, "the records span many segments");

    // the cursor that was at the tail reads the same records again, from the files, after a rewind
    tail.rewind();
    assertSame(fromMemory, pollAll(tail, rnd));

    close(j);
    j = open(JournalConfig.DEFAULT_READ_CACHE_BYTES);
    List<JournalRecord> fromFiles = pollAll(j.cursor("keeper"), rnd);
    assertEquals(0, j.reads()[0], "nothing in memory after the reopen");
    assertSame(fromMemory, fromFiles);

    // after the reopen: the tail cursor again reads what is appended from memory, the same as the files hold
    tail = j.cursor("tail");
    tail.commit(600);
    List<byte[]> second = bodies(rnd, 300);
    List<JournalRecord> more = new ArrayList<>();
    for (int i = 0; i < second.size(); i += 30) {
      appendAll(j, second.subList(i, i + 30));
      more.addAll(pollAll(tail, rnd));
    }
    assertBodies(second, 601, more);
    assertEquals(300, j.reads()[0]);
    Cursor keeper = j.cursor("keeper");
    List<JournalRecord> moreFromFiles = pollAll(keeper, rnd);
    assertSame(more, moreFromFiles);
  }

  @Test
  void aCursorBehindTheCacheGetsTheEvictedRecordsFromTheFiles() throws Exception {
    Random rnd = new Random(7);
    // room for a few records only: most are evicted before the slow cursor reads them
    Journal j = open(2048);
    Cursor fast = j.cursor("fast");
    Cursor slow = j.cursor("slow");
    List<byte[]> bodies = bodies(rnd, 400);
    List<JournalRecord> fastGot = new ArrayList<>();
    for (int i = 0; i < bodies.size(); i += 20) {
      appendAll(j, bodies.subList(i, i + 20));
      fastGot.addAll(pollAll(fast, rnd));
    }
    List<JournalRecord> slowGot = pollAll(slow, rnd);
    assertBodies(bodies, 1, fastGot);
    assertBodies(bodies, 1, slowGot);
    long[] reads = j.reads();
    assertTrue(reads[0] > 0, "the fast cursor read from memory: " + reads[0]);
    assertTrue(reads[1] > 300, "the slow cursor read most from the files: " + reads[1]);
  }

  @Test
  void withoutACacheEveryRecordComesFromTheFiles() throws Exception {
    Random rnd = new Random(3);
    Journal j = open(0);
    Cursor c = j.cursor("c");
    List<byte[]> bodies = bodies(rnd, 100);
    appendAll(j, bodies);
    assertBodies(bodies, 1, pollAll(c, rnd));
    assertEquals(0, j.reads()[0]);
    assertEquals(100, j.reads()[1]);
  }
}
