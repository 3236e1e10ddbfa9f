package io.brokkr.broker.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import java.util.ArrayList;
import java.util.List;

/**
 * Netty's {@link AdaptiveRecvByteBufAllocator} (the same sizes, the same grow and shrink steps, 64 bytes to 64 KiB
 * starting at 2 KiB) with a smaller per-channel handle. Every connection keeps its handle for as long as it is open;
 * Netty's is 96 bytes (its fields, the bounds copied from the allocator, and a supplier object), this one 40: the
 * bounds and the read limit stay in the one allocator all connections share, the size is an index into the table,
 * and "maybe more data" is the one default Netty uses. On epoll Netty wraps the handle in its own (unchanged).
 * <p>
 * Messages per read is 1 as for the {@code AdaptiveRecvByteBufAllocator} the listener shared before (set as a
 * channel option, Netty does not apply the transport's default of 16 to it).
 */
final class CompactRecvAllocator implements MaxMessagesRecvByteBufAllocator {

    private static final int MINIMUM = AdaptiveRecvByteBufAllocator.DEFAULT_MINIMUM;
    private static final int INITIAL = AdaptiveRecvByteBufAllocator.DEFAULT_INITIAL;
    private static final int MAXIMUM = AdaptiveRecvByteBufAllocator.DEFAULT_MAXIMUM;
    private static final int INDEX_INCREMENT = 4;
    private static final int INDEX_DECREMENT = 1;
    /** Netty's table: 16 to 496 by 16, then powers of two. */
    private static final int[] SIZE_TABLE;

    static {
        List<Integer> sizes = new ArrayList<>();
        for (int i = 16; i < 512; i += 16) {
            sizes.add(i);
        }
        for (int i = 512; i > 0; i <<= 1) {
            sizes.add(i);
        }
        SIZE_TABLE = sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    private static final int MIN_INDEX = index(MINIMUM);
    private static final int MAX_INDEX = index(MAXIMUM);
    private static final int INITIAL_INDEX = index(INITIAL);

    private volatile int maxMessagesPerRead = 1;

    /** The index of {@code size} in {@link #SIZE_TABLE} (all three bounds are in it). */
    private static int index(int size) {
        for (int i = 0; i < SIZE_TABLE.length; i++) {
            if (SIZE_TABLE[i] == size) {
                return i;
            }
        }
        throw new IllegalArgumentException("not a table size: " + size);
    }

    /** The receive buffer sizes a handle can pick, in order (for tests). */
    static int size(int index) {
        return SIZE_TABLE[index];
    }

    @Override
    public Handle newHandle() {
        return new CompactHandle(this);
    }

    @Override
    public int maxMessagesPerRead() {
        return maxMessagesPerRead;
    }

    @Override
    public MaxMessagesRecvByteBufAllocator maxMessagesPerRead(int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("maxMessagesPerRead: " + n + " (expected: > 0)");
        }
        maxMessagesPerRead = n;
        return this;
    }

    /** One channel's state: what Netty's {@code MaxMessageHandle} and adaptive handle keep, in 40 bytes. */
    static final class CompactHandle implements RecvByteBufAllocator.ExtendedHandle {

        private final CompactRecvAllocator allocator;
        private ChannelConfig config;
        private int totalMessages;
        private int totalBytesRead;
        private int attemptedBytesRead;
        private int lastBytesRead;
        private byte index = (byte) INITIAL_INDEX;
        private boolean decreaseNow;

        CompactHandle(CompactRecvAllocator allocator) {
            this.allocator = allocator;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return alloc.ioBuffer(guess());
        }

        @Override
        public int guess() {
            return SIZE_TABLE[index];
        }

        @Override
        public void reset(ChannelConfig config) {
            this.config = config;
            totalMessages = 0;
            totalBytesRead = 0;
        }

        @Override
        public void incMessagesRead(int numMessages) {
            totalMessages += numMessages;
        }

        @Override
        public void lastBytesRead(int bytes) {
            // a read that filled the whole buffer: grow at once rather than only at the end of the read loop
            if (bytes == attemptedBytesRead) {
                record(bytes);
            }
            lastBytesRead = bytes;
            if (bytes > 0) {
                totalBytesRead += bytes;
            }
        }

        @Override
        public int lastBytesRead() {
            return lastBytesRead;
        }

        @Override
        public boolean continueReading() {
            return config.isAutoRead() && attemptedBytesRead == lastBytesRead
                    && totalMessages < allocator.maxMessagesPerRead && totalBytesRead > 0;
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return config.isAutoRead() && maybeMoreDataSupplier.get()
                    && totalMessages < allocator.maxMessagesPerRead && totalBytesRead > 0;
        }

        @Override
        public void readComplete() {
            record(totalBytesRead < 0 ? Integer.MAX_VALUE : totalBytesRead); // as Netty: an overflow is "much"
        }

        @Override
        public int attemptedBytesRead() {
            return attemptedBytesRead;
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            attemptedBytesRead = bytes;
        }

        /** Netty's adaptive rule: grow 4 steps after a read that filled the buffer, shrink 1 after two small ones. */
        private void record(int actualReadBytes) {
            if (actualReadBytes <= SIZE_TABLE[Math.max(0, index - INDEX_DECREMENT)]) {
                if (decreaseNow) {
                    index = (byte) Math.max(index - INDEX_DECREMENT, MIN_INDEX);
                    decreaseNow = false;
                } else {
                    decreaseNow = true;
                }
            } else if (actualReadBytes >= SIZE_TABLE[index]) {
                index = (byte) Math.min(index + INDEX_INCREMENT, MAX_INDEX);
                decreaseNow = false;
            }
        }
    }
}
