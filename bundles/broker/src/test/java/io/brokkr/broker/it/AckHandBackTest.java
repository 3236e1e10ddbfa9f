package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.brokkr.api.storage.MessageSink;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.config.BrokerConfig;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The acknowledgements the journal hands back to the publisher's loop (a sink takes the messages), with either sync
 * policy ({@code always}: the writer thread completes them; {@code interval}: mostly the loop itself): a burst of
 * QoS 1 and QoS 2 PUBLISHes, completed by journal batches, is answered in publish order [MQTT-4.6.0-2] with the
 * right packet type, packet id and reason code, also when a refused PUBLISH (0x87 for MQTT 5) sits in the middle of
 * a run of plain acknowledgements (InboundPublish encodes the plain ones of a run into one buffer), and every
 * acknowledged message is in the sink.
 */
class AckHandBackTest extends JournalBrokerTestBase {

    /** A sink that remembers the payloads it was given. */
    static final class Store implements MessageSink {
        final Set<String> payloads = ConcurrentHashMap.newKeySet();

        @Override
        public CompletableFuture<Void> write(List<SinkRecord> batch) {
            for (SinkRecord r : batch) {
                payloads.add(new String(r.message().payload(), StandardCharsets.UTF_8));
            }
            return CompletableFuture.completedFuture(null);
        }
    }

    @ParameterizedTest(name = "journal.fsync = {0}")
    @ValueSource(strings = {BrokerConfig.JOURNAL_FSYNC_ALWAYS, BrokerConfig.JOURNAL_FSYNC_INTERVAL})
    void mqtt5BurstsAreAcknowledgedInOrderWithTheirReasonCodes(String fsync) throws Exception {
        burst(true, fsync);
    }

    @ParameterizedTest(name = "journal.fsync = {0}")
    @ValueSource(strings = {BrokerConfig.JOURNAL_FSYNC_ALWAYS, BrokerConfig.JOURNAL_FSYNC_INTERVAL})
    void mqtt311BurstsAreAcknowledgedInOrder(String fsync) throws Exception {
        burst(false, fsync);
    }

    private void burst(boolean v5, String fsync) throws Exception {
        broker = TestBroker.start(journalConfig().journalFsync(fsync));
        Store store = new Store();
        broker.bindSink("s1", store, Map.of("topics", "data/#"));
        int stored = 0;
        try (RawClient c = v5 ? RawClient.v5(TestBroker.port(broker), "pub") : RawClient.v311(TestBroker.port(broker),
                "pub")) {
            int id = 1;
            for (int round = 0; round < 20; round++) {
                int first = id;
                for (int i = 0; i < 40; i++, id++) {
                    int qos = id % 3 == 0 ? 2 : 1;
                    // every 13th on $SYS: refused (MQTT 5 0x87 Not authorized, 3.1.1 acknowledged and dropped)
                    String topic = id % 13 == 0 ? "$SYS/x" : "data/" + (id % 4);
                    c.publish(topic, qos, id, "m" + id);
                }
                for (int p = first; p < id; p++) {
                    MqttMessage ack = c.poll(10_000);
                    assertNotNull(ack, "acknowledgement of " + p);
                    int qos = p % 3 == 0 ? 2 : 1;
                    assertEquals(qos == 1 ? MqttMessageType.PUBACK : MqttMessageType.PUBREC,
                            ack.fixedHeader().messageType(), "packet " + p);
                    assertEquals(p, Packets.packetId(ack), "in publish order");
                    boolean refused = p % 13 == 0;
                    assertEquals(refused && v5 ? 0x87 : 0, Packets.reasonCode(ack), "packet " + p);
                    if (!refused) {
                        stored++;
                    }
                }
                for (int p = first; p < id; p++) {
                    if (p % 3 == 0 && !(v5 && p % 13 == 0)) {
                        c.send(Packets.ack(MqttMessageType.PUBREL, p));
                        MqttMessage comp = c.poll(10_000);
                        assertNotNull(comp);
                        assertEquals(MqttMessageType.PUBCOMP, comp.fixedHeader().messageType());
                        assertEquals(p, Packets.packetId(comp));
                    }
                }
            }
        }
        int expected = stored;
        Await.until(expected + " records in the sink", 10_000, () -> store.payloads.size() >= expected);
        assertEquals(expected, store.payloads.size());
    }
}
