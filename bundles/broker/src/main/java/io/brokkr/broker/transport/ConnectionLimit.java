package io.brokkr.broker.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code max.connections} of one listener (Mosquitto's {@code max_connections}): at most that many open
 * connections; a new one beyond them is closed at once, before anything is read from it, and counted. The refusals
 * are logged at most once per {@link #LOG_INTERVAL_NANOS}, with the number refused since the last line, so that a
 * flood of connections does not flood the log. The bound is read for each connection: a changed cfg applies to the
 * next one (connections already open stay, also when there are more than the new bound).
 * <p>
 * The count is left by one listener on the channel's close future shared by all connections: a per-connection
 * lambda and a second listener (Netty's {@code DefaultChannelGroup} adds its own) would cost 64 bytes per idle
 * connection. The connections themselves are not kept here: {@link Listener#close()} finds them on the event
 * loops, which keep them anyway (a set of them cost 40 bytes per connection).
 */
final class ConnectionLimit {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimit.class);
    static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final AtomicInteger open = new AtomicInteger();
    /** One for all connections (see the class comment). */
    private final ChannelFutureListener onClose = f -> open.decrementAndGet();
    private final AtomicLong refused = new AtomicLong();
    /** Refusals not logged yet. */
    private final AtomicLong unlogged = new AtomicLong();
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);

    /**
     * Takes a new connection if fewer than {@code max} are open (or {@code max} is 0), counting it until it closes;
     * else closes it and returns false. Any thread (the connections' loops call it concurrently).
     */
    boolean admit(Channel ch, String listener, int max) {
        int n;
        do {
            n = open.get();
            if (max > 0 && n >= max) {
                refuse(ch, listener, max);
                return false;
            }
        } while (!open.compareAndSet(n, n + 1));
        ch.closeFuture().addListener(onClose);
        return true;
    }

    private void refuse(Channel ch, String listener, int max) {
        refused.incrementAndGet();
        unlogged.incrementAndGet();
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= LOG_INTERVAL_NANOS && lastLog.compareAndSet(last, now)) {
            long pending = unlogged.getAndSet(0);
            LOG.warn("Listener {}: max.connections ({}) reached, {} new connection(s) refused (latest from {}); "
                    + "{} refused since the listener opened", listener, max, pending,
                    ch.remoteAddress(), refused.get());
        }
        ch.close();
    }

    /** Connections open now. */
    int open() {
        return open.get();
    }

    /** Connections refused since the listener was created. */
    long refused() {
        return refused.get();
    }
}
