package io.brokkr.broker.config;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Broker counters (lock-free). */
public final class Stats {
    public final LongAdder messagesReceived = new LongAdder();   // all MQTT packets received
    public final LongAdder messagesSent = new LongAdder();       // all MQTT packets sent
    public final LongAdder publishReceived = new LongAdder();
    public final LongAdder publishSent = new LongAdder();
    public final LongAdder publishDropped = new LongAdder();
    public final LongAdder bytesReceived = new LongAdder();
    public final LongAdder bytesSent = new LongAdder();
    public final AtomicInteger connected = new AtomicInteger();
    public final AtomicLong maximumConnected = new AtomicLong();
    public final AtomicLong storedMessages = new AtomicLong();   // messages queued in sessions
    /** Connections moved to the event loop of the session they resumed (see Broker.connect). */
    public final LongAdder connectionsMoved = new LongAdder();
    /** Times a publishing connection was paused by back-pressure. */
    public final LongAdder publishersPaused = new LongAdder();
    /**
     * Of those pauses, the ones ended by the safety net (500 ms in which the target made no progress, or the longest
     * pause) instead of by a target that caught up.
     */
    public final LongAdder publisherPausesCapped = new LongAdder();
    /** Times a pause went on for another 500 ms because its target, slow but not stuck, made progress. */
    public final LongAdder publisherPausesExtended = new LongAdder();

    public void clientConnected() {
        int now = connected.incrementAndGet();
        maximumConnected.accumulateAndGet(now, Math::max);
    }

    public void clientDisconnected() {
        connected.decrementAndGet();
    }
}
