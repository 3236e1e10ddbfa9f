package io.brokkr.broker;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Broker counters (lock-free). */
final class Stats {
    final LongAdder messagesReceived = new LongAdder();   // all MQTT packets received
    final LongAdder messagesSent = new LongAdder();       // all MQTT packets sent
    final LongAdder publishReceived = new LongAdder();
    final LongAdder publishSent = new LongAdder();
    final LongAdder publishDropped = new LongAdder();
    final LongAdder bytesReceived = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final AtomicInteger connected = new AtomicInteger();
    final AtomicLong maximumConnected = new AtomicLong();
    final AtomicLong storedMessages = new AtomicLong();   // messages queued in sessions
    /** Connections moved to the event loop of the session they resumed (see Broker.connect). */
    final LongAdder connectionsMoved = new LongAdder();
    /** Times a publishing connection was paused by back-pressure. */
    final LongAdder publishersPaused = new LongAdder();

    void clientConnected() {
        int now = connected.incrementAndGet();
        maximumConnected.accumulateAndGet(now, Math::max);
    }

    void clientDisconnected() {
        connected.decrementAndGet();
    }
}
