package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.brokkr.api.Message;
import io.brokkr.api.storage.RetainedStore;
import io.netty.handler.codec.mqtt.MqttMessageType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Replacing the retained store at runtime (what the DS component does when a {@code RetainedStore} service comes or
 * goes) while clients set and clear retained messages: no write is lost, no deleted message comes back, and the
 * in-memory store taking over again holds exactly the outgoing store's messages.
 */
class RetainedStoreSwapTest extends BrokerTestBase {

    private static String text(Message m) {
        return new String(m.payload(), StandardCharsets.UTF_8);
    }

    /** topic -> payload of the retained messages under {@code prefix} as the broker (its current store) has them. */
    private Map<String, String> brokerState(String prefix) {
        Map<String, String> out = new TreeMap<>();
        for (Message m : broker.retained(prefix + "/#")) {
            out.put(m.topic(), text(m));
        }
        return out;
    }

    @Test
    void unbindingDoesNotBringBackDeletedMessages() throws Exception {
        RawClient pub = v311("pub");
        pub.retain("gone/a", "old", 1);
        RetainedStore external = new MapRetainedStore("external");
        broker.setRetainedStore(external);
        pub.publish("gone/a", 1, true, 2, new byte[0], null); // cleared while the external store is current
        pub.expect(MqttMessageType.PUBACK);
        pub.retain("gone/b", "new", 3);
        broker.setRetainedStore(null); // unbound: the in-memory store takes over again
        assertEquals(Map.of("gone/b", "new"), brokerState("gone"));
        pub.publish("gone/b", 1, true, 4, new byte[0], null); // cleared while the in-memory store is current
        pub.expect(MqttMessageType.PUBACK);
        broker.setRetainedStore(external); // the same (durable) store comes back with its old content
        assertEquals(Map.of(), brokerState("gone"));
        broker.setRetainedStore(null);
    }

    @Test
    void concurrentWritesAndDeletesWhileSwappingBackAndForth() throws Exception {
        int publishers = 3;
        int topics = 40;
        int rounds = 25;
        int opsPerRound = 150;
        List<RawClient> clients = new ArrayList<>();
        for (int p = 0; p < publishers; p++) {
            clients.add(v311("p" + p));
        }
        // the model: what each publisher last did on each of its topics (its packets are handled in order)
        Map<String, String> model = new ConcurrentHashMap<>();
        RetainedStore[] stores = {new MapRetainedStore("A"), new MapRetainedStore("B"), null};
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger swaps = new AtomicInteger();
        Thread swapper = new Thread(() -> {
            Random r = new Random(7);
            while (running.get()) {
                broker.setRetainedStore(stores[r.nextInt(stores.length)]);
                swaps.incrementAndGet();
            }
        }, "swapper");
        ExecutorService pool = Executors.newFixedThreadPool(publishers);
        swapper.start();
        try {
            for (int round = 0; round < rounds; round++) {
                List<Future<?>> done = new ArrayList<>();
                for (int p = 0; p < publishers; p++) {
                    int pi = p;
                    int ri = round;
                    done.add(pool.submit(() -> {
                        RawClient c = clients.get(pi);
                        Random r = new Random(ri * 31L + pi);
                        for (int i = 0; i <= opsPerRound; i++) {
                            String topic = "swap/" + pi + "/" + r.nextInt(topics);
                            boolean delete = r.nextInt(3) == 0;
                            String payload = delete ? "" : "r" + ri + "-" + i;
                            boolean last = i == opsPerRound;
                            // QoS 0, then one QoS 1 whose PUBACK says the broker has handled all before it
                            c.publish(topic, last ? 1 : 0, true, last ? 1 : 0,
                                    payload.getBytes(StandardCharsets.UTF_8), null);
                            if (delete) {
                                model.remove(topic);
                            } else {
                                model.put(topic, payload);
                            }
                            if (last) {
                                c.expect(MqttMessageType.PUBACK);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
                assertEquals(new TreeMap<>(model), brokerState("swap"), "after round " + round);
            }
        } finally {
            running.set(false);
            swapper.join();
            pool.shutdownNow();
        }
        assertEquals(new TreeMap<>(model), brokerState("swap"));
        for (RetainedStore s : stores) { // each store, made current once more, has exactly the model
            broker.setRetainedStore(s);
            assertEquals(new TreeMap<>(model), brokerState("swap"), "after swapping to " + s);
        }
        broker.setRetainedStore(null);
        assertEquals(new TreeMap<>(model), brokerState("swap"));
        System.out.println("retained store swaps during the test: " + swaps.get());
    }
}
