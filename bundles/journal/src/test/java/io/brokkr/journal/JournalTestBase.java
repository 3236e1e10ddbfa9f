package io.brokkr.journal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A journal directory per test, the journals a test opened closed after it, and small helpers. */
abstract class JournalTestBase {

  @TempDir
  Path dir;

  /** The journals to close after the test (a test that closes one itself may take it out). */
  final List<Journal> opened = new ArrayList<>();

  @AfterEach
  void closeAll() {
    opened.forEach(Journal::close);
  }

  /** Opens a journal that is closed after the test. */
  Journal open(JournalConfig config) throws IOException {
    Journal j = Journal.open(config);
    opened.add(j);
    return j;
  }

  static byte[] body(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static void waitUntil(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(2);
    }
  }
}
