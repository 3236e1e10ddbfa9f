package io.brokkr.broker.protocol;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The keep alive timers of the connections of one event loop: a min-heap of connections by the time their keep
 * alive is next to be checked ({@link ConnectionState#keepAliveCheckAt}), and one scheduled task of the loop for the
 * earliest of them. A connection with a keep alive costs a slot of the heap's array and its two heap fields instead
 * of a scheduled task of its own (a Netty ScheduledFutureTask with its lambda, about 80 bytes). Each connection is
 * checked at the same time as it would be by a timer of its own.
 * <p>
 * Confined to the thread of its loop: {@link #current} gives the one of the calling thread, which must be the loop
 * of the connections it is used for.
 */
final class KeepAliveTimers {

    private static final FastThreadLocal<KeepAliveTimers> PER_THREAD = new FastThreadLocal<>() {
        @Override
        protected KeepAliveTimers initialValue() {
            return new KeepAliveTimers();
        }
    };

    private ConnectionState[] heap = new ConnectionState[16];
    private int size;
    /** The loop (of this thread), set by the first {@link #add}. */
    private EventLoop loop;
    /** The scheduled run for the earliest check, and when it is due; null if none. */
    private ScheduledFuture<?> task;
    private long taskAt;
    /** In {@link #run}: connections armed again there are scheduled at its end. */
    private boolean running;

    private KeepAliveTimers() {
    }

    /** The timers of the calling thread's loop. */
    static KeepAliveTimers current() {
        return PER_THREAD.get();
    }

    /** Checks {@code c} at {@code at} ({@link System#nanoTime()}); {@code loop} is the calling thread's loop. */
    void add(ConnectionState c, long at, EventLoop loop) {
        if (c.keepAliveIndex >= 0) {
            throw new IllegalStateException("keep alive timer armed twice");
        }
        c.keepAliveCheckAt = at;
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        this.loop = loop;
        c.keepAliveIndex = size;
        heap[size++] = c;
        siftUp(c.keepAliveIndex);
        if (!running) {
            schedule();
        }
    }

    /** Makes sure the loop runs {@link #run} when the earliest check is due. */
    private void schedule() {
        if (size == 0) {
            return;
        }
        long first = heap[0].keepAliveCheckAt;
        if (task != null) {
            if (first - taskAt >= 0) {
                return; // due no earlier than the run already scheduled
            }
            task.cancel(false);
        }
        taskAt = first;
        task = loop.schedule(this::run, Math.max(0, first - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Disarms the timer of {@code c}, if armed. */
    void remove(ConnectionState c) {
        int i = c.keepAliveIndex;
        if (i < 0) {
            return;
        }
        c.keepAliveIndex = -1;
        ConnectionState last = heap[--size];
        heap[size] = null;
        if (i < size) {
            heap[i] = last;
            last.keepAliveIndex = i;
            siftDown(i);
            siftUp(last.keepAliveIndex);
        }
        if (size == 0 && task != null) {
            task.cancel(false);
            task = null;
        }
    }

    /** Number of armed timers (for tests). */
    int size() {
        return size;
    }

    private void run() {
        task = null;
        running = true;
        try {
            long now = System.nanoTime();
            while (size > 0 && heap[0].keepAliveCheckAt - now <= 0) {
                ConnectionState c = heap[0];
                remove(c);
                c.checkKeepAlive(); // may arm it again (add)
            }
        } finally {
            running = false;
            schedule();
        }
    }

    private void siftUp(int i) {
        ConnectionState c = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            ConnectionState p = heap[parent];
            if (c.keepAliveCheckAt - p.keepAliveCheckAt >= 0) {
                break;
            }
            heap[i] = p;
            p.keepAliveIndex = i;
            i = parent;
        }
        heap[i] = c;
        c.keepAliveIndex = i;
    }

    private void siftDown(int i) {
        ConnectionState c = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && heap[right].keepAliveCheckAt - heap[child].keepAliveCheckAt < 0) {
                child = right;
            }
            if (c.keepAliveCheckAt - heap[child].keepAliveCheckAt <= 0) {
                break;
            }
            heap[i] = heap[child];
            heap[i].keepAliveIndex = i;
            i = child;
        }
        heap[i] = c;
        c.keepAliveIndex = i;
    }
}
