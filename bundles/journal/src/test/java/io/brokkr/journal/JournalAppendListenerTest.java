package io.brokkr.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** {@link Journal#append(byte[], AppendListener)}: the append without a future that the broker uses per message. */
class JournalAppendListenerTest extends JournalTestBase {

  private Journal open(JournalConfig.Builder b) throws IOException {
    return open(b.cursorSaveInterval(Duration.ofMillis(10)).build());
  }

  /** Records what it is told, and on which thread. */
  static final class Recorder implements AppendListener {
    final ConcurrentLinkedQueue<Long> sequences = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> threads = new ConcurrentLinkedQueue<>();
    final CountDownLatch calls;

    Recorder(int expected) {
      calls = new CountDownLatch(expected);
    }

    @Override
    public void appended(long sequence) {
      sequences.add(sequence);
      threads.add(Thread.currentThread().getName());
      calls.countDown();
    }

    @Override
    public void appendFailed(Throwable error) {
      failures.add(error);
      threads.add(Thread.currentThread().getName());
      calls.countDown();
    }
  }

  @Test
  void theListenerIsToldEachSequenceOnceInOrderOnTheWriterThreadAndTheRecordsAreThere() throws Exception {
    Journal j = open(JournalConfig.builder(dir));
    Cursor c = j.cursor("sink");
    Recorder r = new Recorder(1000);
    for (int i = 0; i < 1000; i++) {
      assertNull(j.append(new byte[] {(byte) i, (byte) (i >> 8)}, r));
    }
    assertTrue(r.calls.await(10, TimeUnit.SECONDS));
    List<Long> seqs = new ArrayList<>(r.sequences);
    assertEquals(1000, seqs.size());
    for (int i = 0; i < 1000; i++) {
      assertEquals(i + 1, seqs.get(i), "sequences in append order");
    }
    assertTrue(r.failures.isEmpty());
    assertTrue(r.threads.stream().allMatch(t -> !t.equals(Thread.currentThread().getName())),
        "told on the journal's thread, not the appender's");
    assertEquals(1000, j.lastSequence());
    List<JournalRecord> got = new ArrayList<>();
    for (List<JournalRecord> b = c.poll(400, Long.MAX_VALUE); !b.isEmpty(); b = c.poll(400, Long.MAX_VALUE)) {
      got.addAll(b);
    }
    assertEquals(1000, got.size());
    assertArrayEquals(new byte[] {(byte) 999, (byte) (999 >> 8)}, got.get(999).body());
  }

  @Test
  void anAppendRefusedAtOnceIsReturnedAndTheListenerIsNotCalled() throws Exception {
    Journal j = open(JournalConfig.builder(dir).maxQueuedBytes(10_000).maxRecordBytes(2_000));
    Recorder r = new Recorder(1);
    Throwable tooBig = j.append(new byte[2_001], r);
    assertInstanceOf(IllegalArgumentException.class, tooBig);
    // hold the writer in a cursor listener so that appends stay queued and the queue fills
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    j.cursor("sink").onAvailable(() -> {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertNull(j.append(new byte[10], r));
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    Recorder queued = new Recorder(10);
    int refused = 0;
    for (int i = 0; i < 20; i++) {
      Throwable e = j.append(new byte[984], queued); // 1000 bytes queued each
      if (e != null) {
        assertInstanceOf(JournalFullException.class, e);
        refused++;
      }
    }
    assertEquals(10, refused, "10 appends of 1000 bytes fill the 10,000 bytes, the other 10 are refused");
    release.countDown();
    j.cursor("sink").onAvailable(null);
    assertTrue(queued.calls.await(10, TimeUnit.SECONDS));
    assertEquals(10, queued.sequences.size(), "only the queued ones are told, once each");
    assertTrue(r.calls.await(10, TimeUnit.SECONDS));
    assertEquals(List.of(1L), new ArrayList<>(r.sequences));
    j.close();
    assertInstanceOf(JournalClosedException.class, j.append(new byte[1], r));
    assertEquals(1, r.sequences.size() + r.failures.size(), "not called for the refused appends");
  }

  @Test
  void aThrowingListenerDoesNotStopTheWriter() throws Exception {
    Journal j = open(JournalConfig.builder(dir));
    AtomicInteger thrown = new AtomicInteger();
    AppendListener bad = new AppendListener() {
      @Override
      public void appended(long sequence) {
        thrown.incrementAndGet();
        throw new IllegalStateException("listener bug");
      }

      @Override
      public void appendFailed(Throwable error) {
        throw new IllegalStateException("listener bug");
      }
    };
    for (int i = 0; i < 10; i++) {
      assertNull(j.append(new byte[5], bad));
    }
    Recorder r = new Recorder(1);
    assertNull(j.append(new byte[5], r));
    assertTrue(r.calls.await(10, TimeUnit.SECONDS));
    assertEquals(List.of(11L), new ArrayList<>(r.sequences));
    assertEquals(10, thrown.get());
    assertEquals(12, j.append(new byte[5]).get(10, TimeUnit.SECONDS), "the future form still works beside it");
  }

  @Test
  void appendsQueuedAtCloseAreToldTheyAreIn() throws Exception {
    Journal j = open(JournalConfig.builder(dir).forceInterval(Duration.ofSeconds(10)));
    Recorder r = new Recorder(500);
    for (int i = 0; i < 500; i++) {
      assertNull(j.append(new byte[100], r));
    }
    j.close();
    assertTrue(r.calls.await(10, TimeUnit.SECONDS));
    assertEquals(500, r.sequences.size());
    assertTrue(r.failures.isEmpty());
    assertEquals(500, j.forcedSequence(), "forced at close");
  }
}
