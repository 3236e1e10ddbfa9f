package io.brokkr.broker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CompactRecvAllocator} sizes receive buffers and ends read loops exactly as Netty's
 * {@link AdaptiveRecvByteBufAllocator} does: both are driven through the same read loops (as a transport drives
 * them: reset, then per read the attempted and the read bytes, then whether to go on, then read complete), with
 * reads of random sizes from nothing to a full buffer, and must agree at every step.
 */
class CompactRecvAllocatorTest {

    @Test
    void sameSizesAndLoopEndsAsNettysAdaptiveAllocator() {
        compare(1, 1);
        compare(16, 2);
    }

    private static void compare(int maxMessagesPerRead, long seed) {
        AdaptiveRecvByteBufAllocator netty = new AdaptiveRecvByteBufAllocator();
        netty.maxMessagesPerRead(maxMessagesPerRead);
        CompactRecvAllocator compact = new CompactRecvAllocator();
        compact.maxMessagesPerRead(maxMessagesPerRead);
        RecvByteBufAllocator.ExtendedHandle a = (RecvByteBufAllocator.ExtendedHandle) netty.newHandle();
        RecvByteBufAllocator.ExtendedHandle b = (RecvByteBufAllocator.ExtendedHandle) compact.newHandle();
        EmbeddedChannel ch = new EmbeddedChannel();
        ChannelConfig config = ch.config();
        Random r = new Random(seed);
        int grew = 0;
        int shrank = 0;
        for (int loop = 0; loop < 20_000; loop++) {
            a.reset(config);
            b.reset(config);
            boolean more = true;
            for (int read = 0; more; read++) {
                int before = a.guess();
                assertEquals(before, b.guess(), "buffer size, loop " + loop + " read " + read);
                ByteBuf buf = b.allocate(UnpooledByteBufAllocator.DEFAULT);
                assertEquals(before, buf.capacity());
                buf.release();
                a.attemptedBytesRead(before);
                b.attemptedBytesRead(before);
                int n = bytes(r, before);
                a.lastBytesRead(n);
                b.lastBytesRead(n);
                assertEquals(a.lastBytesRead(), b.lastBytesRead());
                assertEquals(a.attemptedBytesRead(), b.attemptedBytesRead());
                if (n > 0) {
                    a.incMessagesRead(1);
                    b.incMessagesRead(1);
                }
                more = a.continueReading();
                assertEquals(more, b.continueReading(), "continue, loop " + loop + " read " + read);
                boolean maybeMore = r.nextBoolean();
                assertEquals(a.continueReading(() -> maybeMore), b.continueReading(() -> maybeMore));
                more &= read < 50;
                grew += a.guess() > before ? 1 : 0;
            }
            int before = a.guess();
            a.readComplete();
            b.readComplete();
            assertEquals(a.guess(), b.guess(), "buffer size after read complete, loop " + loop);
            shrank += a.guess() < before ? 1 : 0;
        }
        ch.finishAndReleaseAll();
        // the reads did move the size both ways (else the comparison would prove little)
        assertEquals(true, grew > 100 && shrank > 100, "grew " + grew + ", shrank " + shrank);
    }

    /** Read sizes of every kind: none (-1 or 0), a few bytes, part of the buffer, all of it (it filled). */
    private static int bytes(Random r, int buffer) {
        return switch (r.nextInt(6)) {
            case 0 -> r.nextInt(3) - 1;
            case 1 -> 1 + r.nextInt(64);
            case 2 -> 1 + r.nextInt(buffer);
            case 3 -> buffer;
            default -> buffer;
        };
    }
}
