package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.intercept.MessageInterceptor;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which thread does what: a connection's end is reported once however a takeover and a close race, and nothing an
 * extension calls on an event loop blocks that loop. Two event loops, so that sessions, their connections and the
 * clients taking them over are spread over both.
 */
class ThreadingTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("io.threads", "2");
        return m;
    }

    @AfterEach
    void noInterceptors() {
        broker.setInterceptors(List.of());
    }

    /** Counts onConnect and onDisconnect per connection (the broker passes the same ConnectionContext to both). */
    static final class Counter implements MessageInterceptor {
        final Map<ConnectionContext, AtomicInteger> connects = Collections.synchronizedMap(new IdentityHashMap<>());
        final Map<ConnectionContext, AtomicInteger> disconnects = Collections.synchronizedMap(new IdentityHashMap<>());

        @Override
        public void onConnect(ConnectionContext client) {
            connects.computeIfAbsent(client, k -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void onDisconnect(ConnectionContext client, boolean graceful) {
            disconnects.computeIfAbsent(client, k -> new AtomicInteger()).incrementAndGet();
        }

        boolean allDisconnected() {
            synchronized (connects) {
                synchronized (disconnects) {
                    return disconnects.keySet().containsAll(connects.keySet());
                }
            }
        }
    }

    /**
     * Takeovers racing with the old connection's close: each round connects a new connection with the client id of
     * the connected one and closes the old one at the same moment; some rounds also close the new one right after
     * its CONNECT (before it is attached). Every connection reported by onConnect must be reported by onDisconnect
     * exactly once, none that was not connected, and the connected count must end at zero.
     */
    @Test
    void takeoverRacingCloseReportsOneDisconnectPerConnect() throws Exception {
        Counter counter = new Counter();
        broker.setInterceptors(List.of(counter));
        int threads = 4;
        int rounds = 60;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String clientId = id("r" + t);
                futures.add(pool.submit(() -> {
                    race(clientId, rounds);
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        await(() -> broker.stats().clientsConnected() == 0 && broker.clients().isEmpty()
                && counter.allDisconnected(), "every connection reported closed, connected count 0");
        fenceLoops();
        assertTrue(counter.connects.size() >= threads * rounds / 2, "connections made: " + counter.connects.size());
        synchronized (counter.connects) {
            for (Map.Entry<ConnectionContext, AtomicInteger> e : counter.connects.entrySet()) {
                assertEquals(1, e.getValue().get(), "onConnect calls for " + e.getKey());
            }
        }
        synchronized (counter.disconnects) {
            for (Map.Entry<ConnectionContext, AtomicInteger> e : counter.disconnects.entrySet()) {
                assertTrue(counter.connects.containsKey(e.getKey()), "onDisconnect without onConnect: " + e.getKey());
                assertEquals(1, e.getValue().get(), "onDisconnect calls for " + e.getKey());
            }
        }
        assertEquals(0, broker.stats().clientsConnected());
    }

    private void race(String clientId, int rounds) throws InterruptedException {
        RawClient current = null;
        try {
            for (int i = 0; i < rounds; i++) {
                boolean clean = i % 2 == 0;
                if (current == null) {
                    current = RawClient.connect(port, Packets.connect(MqttVersion.MQTT_3_1_1, clientId, clean, 30,
                            null));
                }
                RawClient next = RawClient.open(port);
                next.send(Packets.connect(MqttVersion.MQTT_3_1_1, clientId, clean, 30, null));
                current.drop(); // races with the takeover by next
                if (i % 3 == 2) {
                    next.drop(); // closes while its CONNECT is being handled
                    current = null;
                    continue;
                }
                MqttMessage ack = next.poll(RawClient.TIMEOUT_MS);
                assertNotNull(ack, "CONNACK for round " + i + " of " + clientId);
                assertEquals(0, ((MqttConnAckMessage) ack).variableHeader().connectReturnCode().byteValue());
                current = next;
            }
        } finally {
            if (current != null) {
                current.drop();
            }
        }
    }

    /**
     * Everything queued on the broker's event loops before this call has run after it: a connection's CONNECT
     * completes with a task on its loop, and successive connections are spread over the loops in turn.
     */
    private void fenceLoops() throws Exception {
        for (int i = 0; i < 4; i++) {
            RawClient c = v311("fence" + i);
            c.drop();
            awaitOffline(id("fence" + i));
        }
    }

    /**
     * An interceptor that calls kick from onConnect must not block its event loop, even while the loop of the kicked
     * session is busy: another client on the kicking loop is served at once, and the kick is done when the busy loop
     * gets to it.
     */
    @Test
    void kickFromAnInterceptorDoesNotBlockTheLoop() throws Exception {
        Map<String, Thread> loopOf = new ConcurrentHashMap<>();
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch kickStarted = new CountDownLatch(1);
        AtomicLong kickNanos = new AtomicLong(-1);
        Thread[] busyLoop = new Thread[1];
        Thread[] kickLoop = new Thread[1];
        String[] victim = new String[1];
        broker.setInterceptors(List.of(new MessageInterceptor() {
            @Override
            public void onConnect(ConnectionContext client) {
                Thread t = Thread.currentThread();
                loopOf.put(client.clientId(), t);
                String id = client.clientId();
                if (id.contains("-busy") && t == busyLoop[0] && busy.getCount() > 0) {
                    busy.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS); // this loop is busy (a stand-in for a long task)
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                } else if (id.contains("-kick") && t == kickLoop[0] && kickStarted.getCount() > 0) {
                    kickStarted.countDown();
                    long start = System.nanoTime();
                    broker.kick(victim[0], false);
                    kickNanos.set(System.nanoTime() - start);
                }
            }
        }));
        try {
            // clients on both loops: the victim on one, a probe on the other
            List<RawClient> clients = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                clients.add(v311("c" + i));
            }
            victim[0] = id("c0");
            busyLoop[0] = loopOf.get(victim[0]);
            RawClient probe = null;
            for (int i = 1; i < 4 && probe == null; i++) {
                if (loopOf.get(id("c" + i)) != busyLoop[0]) {
                    probe = clients.get(i);
                    kickLoop[0] = loopOf.get(id("c" + i));
                }
            }
            assertNotNull(probe, "clients on two event loops");
            assertNotEquals(busyLoop[0], kickLoop[0]);

            // make the victim's loop busy, then have a client on the other loop kick the victim
            for (int i = 0; i < 4 && busy.getCount() > 0; i++) {
                open().send(Packets.connect(MqttVersion.MQTT_3_1_1, id("busy" + i), true, 30, null));
                busy.await(2, TimeUnit.SECONDS);
            }
            assertEquals(0, busy.getCount(), "a client on the victim's loop keeps it busy");
            for (int i = 0; i < 4 && kickStarted.getCount() > 0; i++) {
                open().send(Packets.connect(MqttVersion.MQTT_3_1_1, id("kick" + i), true, 30, null));
                kickStarted.await(2, TimeUnit.SECONDS);
            }
            assertEquals(0, kickStarted.getCount(), "an interceptor on the other loop calls kick");

            long start = System.nanoTime();
            probe.send(new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGREQ, false, MqttQoS.AT_MOST_ONCE,
                    false, 0)));
            probe.expect(MqttMessageType.PINGRESP);
            long pingMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(pingMillis < 2_000, "the kicking loop answered a PINGREQ after " + pingMillis + " ms");
            await(() -> kickNanos.get() >= 0, "kick returned");
            assertTrue(TimeUnit.NANOSECONDS.toMillis(kickNanos.get()) < 1_000,
                    "kick blocked the loop for " + TimeUnit.NANOSECONDS.toMillis(kickNanos.get()) + " ms");
            assertTrue(clients.get(0).isOpen(), "the victim's loop has not run the kick yet");

            release.countDown();
            assertTrue(clients.get(0).awaitClosed(), "the victim is disconnected once its loop is free");
            awaitOffline(victim[0]);
        } finally {
            release.countDown();
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(10);
        }
    }
}
