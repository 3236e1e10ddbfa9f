package io.brokkr.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One segment file: records {@code base, base+1, ...} back to back. The journal's writer thread appends to the active
 * segment and publishes what is durable ({@link #durableCount}); readers (cursors) read only durable records with
 * positional reads, which do not disturb the writer.
 *
 * <p>{@link #offsets} holds the file position of each record and, at index {@code count}, the position after the
 * last one, so record {@code i} spans {@code offsets[i] .. offsets[i + 1]}. The writer fills an entry before it
 * publishes the count covering it (a volatile write); a grown array is a copy, so a reader holding the old array still
 * finds every entry it may read.
 */
final class Segment {
  final long base;
  final Path path;
  final FileChannel channel;
  /** Record positions, see the class comment; replaced (copied) by the writer when it grows. */
  volatile int[] offsets;
  /** Records that are forced to disk and may be read. */
  volatile int durableCount;
  /** Writer thread only: records written (durable or not) and the write position. */
  int count;
  long writePos;

  Segment(long base, Path path, FileChannel channel) {
    this.base = base;
    this.path = path;
    this.channel = channel;
    this.offsets = new int[64];
  }

  static String fileName(long base) {
    return String.format("%020d.seg", base);
  }

  /** Writer thread: a record of {@code bytes} (header included) was placed at {@link #writePos}. */
  void added(int bytes) {
    int[] o = offsets;
    if (count + 1 >= o.length) {
      o = Arrays.copyOf(o, o.length * 2);
      offsets = o;
    }
    writePos += bytes;
    o[count + 1] = (int) writePos;
    count++;
  }

  /** Writer thread: everything written so far is forced. */
  void published() {
    durableCount = count;
  }

  /** Writer thread: the first {@code n} records are forced. */
  void publish(int n) {
    if (n > durableCount) {
      durableCount = n;
    }
  }

  /** @return the last durable sequence, or {@code base - 1} if none */
  long lastDurable() {
    return base + durableCount - 1;
  }

  /** @return bytes of durable records (headers included) */
  long durableBytes() {
    int n = durableCount;
    return offsets[n];
  }

  /** Reads {@code len} bytes at {@code pos} fully. */
  ByteBuffer read(long pos, int len) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(len);
    while (b.hasRemaining()) {
      int r = channel.read(b, pos + b.position());
      if (r < 0) {
        throw new IOException("unexpected end of " + path + " at " + (pos + b.position()));
      }
    }
    return b.flip();
  }
}
