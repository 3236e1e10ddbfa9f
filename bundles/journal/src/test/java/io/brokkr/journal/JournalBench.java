package io.brokkr.journal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * Measures the {@link Journal} against an H2 MVStore equivalent on this machine (the numbers in README.md, section
 * "Journal"). Not a test: run it by hand, e.g.
 * <pre>
 * mvn -o -q -pl bundles/journal test-compile
 * java -cp "bundles/journal/target/classes:bundles/journal/target/test-classes:$(cat cp.txt)" \
 *   io.brokkr.journal.JournalBench [dir] [seconds]
 * </pre>
 * (cp.txt from {@code mvn -o -q -pl bundles/journal dependency:build-classpath -Dmdep.outputFile=cp.txt}).
 *
 * <p>For each store and body size (64 B, 1 KiB): 8 threads append for {@code seconds} (after one second of warm-up),
 * each with at most 1,000 appends in flight (it waits for the oldest when its window is full); an append counts when
 * its future completed, i.e. when it was forced to disk. The same again with a window of 1 (each thread waits for
 * its own append before the next: the latency-bound case, at most 8 records per force). Then the recovery time: open with 1,000,000 records of 64
 * bytes retained (a cursor at 0 holds them).
 */
public final class JournalBench {
  private static final int THREADS = 8;
  private static final int WINDOW = 1000;

  /** An appender under test: the journal or the MVStore equivalent. */
  private interface Store extends AutoCloseable {
    CompletableFuture<Long> append(byte[] body);

    long appends();

    long fsyncs();

    @Override
    void close();
  }

  public static void main(String[] args) throws Exception {
    Path root = Paths.get(args.length > 0 ? args[0] : "target/journal-bench").toAbsolutePath();
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    System.out.printf("dir %s, %d threads, window %d, %d s per run%n", root, THREADS, WINDOW, seconds);
    System.out.println("store      body window   appends/s   fsyncs/s  records/fsync");
    for (int window : new int[] {WINDOW, 1}) {
      for (int size : new int[] {64, 1024}) {
        run("journal", size, window, seconds, () -> journalStore(clean(root.resolve("journal-" + size))));
        run("mvstore", size, window, seconds, () -> mvStore(clean(root.resolve("mvstore-" + size))));
      }
    }
    recovery(root);
  }

  private interface StoreFactory {
    Store open() throws IOException;
  }

  private static void run(String name, int size, int windowSize, int seconds, StoreFactory factory)
      throws Exception {
    try (Store store = factory.open()) {
      byte[] body = new byte[size];
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(1 + seconds);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        Thread th = new Thread(() -> {
          ArrayDeque<CompletableFuture<Long>> window = new ArrayDeque<>();
          while (System.nanoTime() < end) {
            if (window.size() == windowSize) {
              window.poll().join();
            }
            window.add(store.append(body));
          }
          window.forEach(CompletableFuture::join);
        });
        threads.add(th);
        th.start();
      }
      Thread.sleep(1000); // warm-up
      long a0 = store.appends();
      long f0 = store.fsyncs();
      long t0 = System.nanoTime();
      Thread.sleep(seconds * 1000L);
      long a1 = store.appends();
      long f1 = store.fsyncs();
      double s = (System.nanoTime() - t0) / 1e9;
      for (Thread th : threads) {
        th.join();
      }
      System.out.printf("%-8s %6d %6d %11.0f %10.0f %14.1f%n", name, size, windowSize, (a1 - a0) / s, (f1 - f0) / s,
          (a1 - a0) / (double) Math.max(1, f1 - f0));
    }
  }

  private static void recovery(Path root) throws Exception {
    int n = 1_000_000;
    Path jdir = clean(root.resolve("journal-recovery"));
    try (Journal j = Journal.open(JournalConfig.defaults(jdir))) {
      j.cursor("hold");
      fill(j::append, n);
    }
    long t0 = System.nanoTime();
    long last;
    try (Journal j = Journal.open(JournalConfig.defaults(jdir))) {
      last = j.lastSequence();
      System.out.printf("journal open with %d records retained (%d MB in %d segments): %.0f ms%n", last,
          j.stats().diskBytes() >> 20, j.stats().segments(), (System.nanoTime() - t0) / 1e6);
    }

    Path mdir = clean(root.resolve("mvstore-recovery"));
    try (Store m = mvStore(mdir)) {
      fill(m::append, n);
    }
    t0 = System.nanoTime();
    try (MVStore s = new MVStore.Builder().fileName(mdir.resolve("store.mv").toString()).autoCommitDisabled().open()) {
      MVMap<Long, byte[]> map = s.openMap("journal");
      long lastKey = map.lastKey();
      double openMs = (System.nanoTime() - t0) / 1e6;
      long scanned = 0;
      for (Long k : map.keySet()) {
        scanned += k > 0 ? 1 : 0;
      }
      System.out.printf("mvstore open with %d records (last key %d): %.0f ms to open, %.0f ms with a full scan%n",
          scanned, lastKey, openMs, (System.nanoTime() - t0) / 1e6);
    }
  }

  private interface Appender {
    CompletableFuture<Long> append(byte[] body);
  }

  private static void fill(Appender a, int n) {
    byte[] body = new byte[64];
    ArrayDeque<CompletableFuture<Long>> window = new ArrayDeque<>();
    for (int i = 0; i < n; i++) {
      if (window.size() == 8 * WINDOW) {
        window.poll().join();
      }
      window.add(a.append(body));
    }
    window.forEach(CompletableFuture::join);
  }

  private static Path clean(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(dir);
    return dir;
  }

  private static Store journalStore(Path dir) throws IOException {
    Journal j = Journal.open(JournalConfig.defaults(dir));
    j.cursor("bench"); // hold the records, as a sink would
    return new Store() {
      @Override
      public CompletableFuture<Long> append(byte[] body) {
        return j.append(body);
      }

      @Override
      public long appends() {
        return j.stats().appends();
      }

      @Override
      public long fsyncs() {
        return j.stats().fsyncs();
      }

      @Override
      public void close() {
        j.close();
      }
    };
  }

  /**
   * The MVStore equivalent: a map sequence -> body; one writer thread drains the queue, puts the batch, then
   * {@code commit()} and {@code sync()} (a force of the file) once per batch, then completes the futures.
   */
  private static Store mvStore(Path dir) {
    MVStore s = new MVStore.Builder().fileName(dir.resolve("store.mv").toString()).autoCommitDisabled().open();
    MVMap<Long, byte[]> map = s.openMap("journal");
    record Pending(byte[] body, CompletableFuture<Long> future) {
    }
    LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    long[] counters = new long[2]; // appends, fsyncs (read racily by the bench; good enough for rates)
    Pending stop = new Pending(null, null);
    Thread writer = new Thread(() -> {
      long seq = map.isEmpty() ? 0 : map.lastKey();
      List<Pending> batch = new ArrayList<>();
      boolean running = true;
      while (running) {
        try {
          batch.add(queue.take());
        } catch (InterruptedException e) {
          return;
        }
        queue.drainTo(batch, 4095);
        List<Long> seqs = new ArrayList<>(batch.size());
        for (Pending p : batch) {
          if (p == stop) {
            running = false;
            continue;
          }
          map.put(++seq, p.body());
          seqs.add(seq);
        }
        s.commit();
        s.sync();
        counters[1]++;
        int i = 0;
        for (Pending p : batch) {
          if (p != stop) {
            p.future().complete(seqs.get(i++));
          }
        }
        counters[0] += seqs.size();
        batch.clear();
      }
    }, "mvstore-writer");
    writer.start();
    return new Store() {
      @Override
      public CompletableFuture<Long> append(byte[] body) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        queue.add(new Pending(body, f));
        return f;
      }

      @Override
      public long appends() {
        return counters[0];
      }

      @Override
      public long fsyncs() {
        return counters[1];
      }

      @Override
      public void close() {
        queue.add(stop);
        try {
          writer.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        s.close();
      }
    };
  }
}
