package io.brokkr.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * With a force interval, a batch with a completion executor is written by the thread that submits it when no other
 * thread is writing (no wake-up of the writer thread per event loop pass): these tests show that it is, and that
 * nothing is lost, told twice or reordered when appenders, the writer thread, segment rolls and single appends meet.
 */
class JournalAppenderWritesTest extends JournalTestBase {

  /** Counts what it is told; fails the test on a failure. */
  private static class Told implements AppendListener {
    final String name;
    final Map<String, Long> into;
    final AtomicInteger twice;

    Told(String name, Map<String, Long> into, AtomicInteger twice) {
      this.name = name;
      this.into = into;
      this.twice = twice;
    }

    @Override
    public void appended(long sequence) {
      if (into.put(name, sequence) != null) {
        twice.incrementAndGet();
      }
    }

    @Override
    public void appendFailed(Throwable error) {
      throw new AssertionError(name + " failed", error);
    }
  }

  /**
   * The submitting thread writes its batch: with a direct completion executor the listeners run on the thread that
   * wrote the batch, and that is the submitting thread, and the records are in (sequence published, readable) when
   * submit() returns. Without it the writer thread wrote every batch. The writer thread may hold the lock now and
   * then (its timed chores, here about once a second), so nearly every batch, not every one, is asked for.
   */
  @Test
  void withAForceIntervalTheSubmittingThreadWritesItsBatch() throws Exception {
    Journal j = open(JournalConfig.builder(dir).forceInterval(Duration.ofSeconds(1))
        .cursorSaveInterval(Duration.ofSeconds(30)).build());
    Cursor c = j.cursor("sink");
    Journal.AppendBatch batch = j.batch(Runnable::run);
    Map<String, Long> told = new ConcurrentHashMap<>();
    Map<String, String> toldOn = new ConcurrentHashMap<>();
    AtomicInteger twice = new AtomicInteger();
    String me = Thread.currentThread().getName();
    int inAtReturn = 0;
    long expected = 0;
    for (int i = 0; i < 100; i++) {
      for (int k = 0; k < 3; k++) {
        String name = i + "/" + k;
        assertNull(batch.add(body(name), new Told(name, told, twice) {
          @Override
          public void appended(long sequence) {
            toldOn.put(name, Thread.currentThread().getName());
            super.appended(sequence);
          }
        }));
      }
      batch.submit();
      expected += 3;
      if (j.lastSequence() == expected) {
        inAtReturn++;
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (told.size() < expected && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
    }
    long onMe = toldOn.values().stream().filter(me::equals).count();
    assertTrue(onMe >= 270, "records written by the submitting thread: " + onMe + " of 300, told on " + toldOn);
    assertTrue(inAtReturn >= 90, "batches in before submit() returned: " + inAtReturn + " of 100");
    assertEquals(300, told.size());
    assertEquals(0, twice.get());
    for (int i = 0; i < 100; i++) {
      for (int k = 0; k < 3; k++) {
        assertEquals(i * 3L + k + 1, told.get(i + "/" + k), "sequence of " + i + "/" + k);
      }
    }
    List<JournalRecord> all = c.poll(1000, Long.MAX_VALUE);
    assertEquals(300, all.size());
    assertEquals("99/2", new String(all.get(299).body(), StandardCharsets.UTF_8));
  }

  /**
   * Four threads submit batches at once while a fifth appends single records (which the writer thread writes) into
   * small segments (a batch that would roll one is left to the writer thread too): every record is told once, each
   * thread's records are in its order, a cursor reads every record once, and after a reopen the journal holds the
   * same. The listeners run on the thread that writes (a direct executor), which is also a listener appending inside
   * another thread's write.
   */
  @Test
  void appendersTheWriterRollsAndSingleAppendsLoseAndReorderNothing() throws Exception {
    JournalConfig config = JournalConfig.builder(dir).forceInterval(Duration.ofMillis(50)).segmentBytes(8192)
        .cursorSaveInterval(Duration.ofMillis(5)).build();
    Journal j = open(config);
    Cursor c = j.cursor("sink");
    Map<String, Long> told = new ConcurrentHashMap<>();
    AtomicInteger twice = new AtomicInteger();
    int threads = 4;
    int batches = 400;
    int singles = 500;
    List<Thread> ts = new ArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    CountDownLatch start = new CountDownLatch(1);
    int[] total = new int[threads];
    for (int t = 0; t < threads; t++) {
      int tt = t;
      ts.add(new Thread(() -> {
        try {
          start.await();
          Journal.AppendBatch b = j.batch(Runnable::run);
          int n = 0;
          for (int i = 0; i < batches; i++) {
            for (int k = 0; k <= i % 5; k++) {
              String name = "t" + tt + "/" + n++;
              Throwable refused = b.add(body(name), new Told(name, told, twice));
              if (refused != null) {
                throw new AssertionError(refused);
              }
            }
            b.submit();
          }
          total[tt] = n;
        } catch (Throwable e) {
          errors.add(e);
        }
      }));
    }
    ts.add(new Thread(() -> {
      try {
        start.await();
        for (int i = 0; i < singles; i++) {
          String name = "s/" + i;
          Throwable refused = j.append(body(name), new Told(name, told, twice));
          if (refused != null) {
            throw new AssertionError(refused);
          }
        }
      } catch (Throwable e) {
        errors.add(e);
      }
    }));
    ts.forEach(Thread::start);
    start.countDown();
    for (Thread t : ts) {
      t.join(30_000);
    }
    assertEquals(List.of(), errors);
    int expected = singles;
    for (int n : total) {
      expected += n;
    }
    int exp = expected;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (told.size() < exp && System.nanoTime() < deadline) {
      Thread.sleep(2);
    }
    assertEquals(expected, told.size(), "told");
    assertEquals(0, twice.get(), "told twice");
    assertEquals(expected, j.lastSequence());
    assertTrue(segmentCount() > 1, "the test rolled segments");
    // by sequence, each writer's records are in its order
    Map<String, Integer> last = new HashMap<>();
    told.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> {
      String[] p = e.getKey().split("/");
      Integer prev = last.put(p[0], Integer.parseInt(p[1]));
      assertTrue(prev == null || prev < Integer.parseInt(p[1]), "order of " + p[0] + " at " + e.getKey());
    });
    List<JournalRecord> read = new ArrayList<>();
    for (List<JournalRecord> r = c.poll(1000, Long.MAX_VALUE); !r.isEmpty(); r = c.poll(1000, Long.MAX_VALUE)) {
      read.addAll(r);
    }
    assertEquals(expected, read.size(), "read back");
    for (JournalRecord r : read) {
      assertEquals(told.get(new String(r.body(), StandardCharsets.UTF_8)), r.sequence());
    }
    j.close();
    Journal again = open(config);
    assertEquals(expected, again.lastSequence(), "after reopen");
  }

  /**
   * A listener told inside a write (a direct executor) that submits another batch on the same thread: the second
   * batch is not written inside the first write, it goes to the writer thread, and both are in, in order.
   */
  @Test
  void aBatchSubmittedFromAListenerInsideAWriteIsWrittenAfterIt() throws Exception {
    Journal j = open(JournalConfig.builder(dir).forceInterval(Duration.ofSeconds(1)).build());
    Journal.AppendBatch first = j.batch(Runnable::run);
    Journal.AppendBatch second = j.batch(Runnable::run);
    Map<String, Long> told = new ConcurrentHashMap<>();
    AtomicInteger twice = new AtomicInteger();
    assertNull(first.add(body("a"), new AppendListener() {
      @Override
      public void appended(long sequence) {
        told.put("a", sequence);
        assertNull(second.add(body("b"), new Told("b", told, twice)));
        second.submit();
      }

      @Override
      public void appendFailed(Throwable error) {
        throw new AssertionError(error);
      }
    }));
    assertNull(first.add(body("a2"), new Told("a2", told, twice)));
    first.submit();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (told.size() < 3 && System.nanoTime() < deadline) {
      Thread.sleep(2);
    }
    assertEquals(Map.of("a", 1L, "a2", 2L, "b", 3L), told);
    assertEquals(3, j.lastSequence());
  }

  private long segmentCount() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".seg")).count();
    }
  }
}
