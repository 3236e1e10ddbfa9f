package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.JournalInfo;
import io.brokkr.api.SinkInfo;
import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.netty.handler.codec.mqtt.MqttMessageType;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.Test;

/**
 * The journal's hard disk bound ({@code journal.max.bytes}): when the sinks are behind and the journal is full, a
 * QoS 1/2 message that a sink matches is refused (MQTT 5: PUBACK 0x97 Quota exceeded; 3.1.1: the connection is closed
 * unacknowledged, so that the client sends it again), QoS 0 for those sinks is skipped and counted, messages no sink
 * matches go through, and once the sinks caught up and segments were released messages are taken again.
 */
class JournalBoundTest extends JournalBrokerTestBase {

    /** 256 KiB: segments of 64 KiB (an eighth, at least 64 KiB). */
    private static final long BOUND = 256 * 1024;
    private static final byte[] KIB = new byte[1024];


    private SinkJournalTest.Store startWithStalledSink() {
        broker = TestBroker.start(journalConfig()
                .journalMaxBytes(BOUND));
        SinkJournalTest.Store store = new SinkJournalTest.Store();
        store.down = true; // the store is down: the sink retries, its backlog grows
        broker.bindSink("stalled", store, Map.of("topics", "capped/#"));
        return store;
    }

    private SinkInfo sink() {
        return broker.sinks().stream().filter(s -> s.name().equals("stalled")).findFirst().orElseThrow();
    }

    /** Publishes QoS 1 with Paho and returns the PUBACK's reason code. */
    private static int publish(MqttAsyncClient c, String topic, byte[] payload) throws Exception {
        IMqttToken t;
        try {
            t = c.publish(topic, payload, 1, false);
            t.waitForCompletion(10_000);
        } catch (MqttException e) {
            return e.getReasonCode();
        }
        int[] codes = t.getReasonCodes();
        return codes == null || codes.length == 0 ? 0 : codes[0];
    }

    private MqttAsyncClient paho(String id) throws Exception {
        MqttAsyncClient c = new MqttAsyncClient("tcp://127.0.0.1:" + TestBroker.port(broker), id,
                new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        c.connect(o).waitForCompletion(10_000);
        return c;
    }

    /** Publishes 1 KiB QoS 1 messages until one is refused; returns how many were accepted. */
    private static int fill(MqttAsyncClient c) throws Exception {
        for (int i = 0; i < 10_000; i++) {
            int rc = publish(c, "capped/fill", KIB);
            if (rc == 0x97) {
                return i;
            }
            assertEquals(0, rc, "accepted while the journal has room (message " + i + ")");
        }
        throw new AssertionError("the journal never refused a message");
    }

    @Test
    void mqtt5PublishersGetQuotaExceededAtTheBoundUntilTheSinkCatchesUp() throws Exception {
        SinkJournalTest.Store store = startWithStalledSink();
        MqttAsyncClient c = paho("bound-v5");
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        try {
            System.setErr(new java.io.PrintStream(log, true, StandardCharsets.UTF_8)); // slf4j-simple writes there
            int accepted;
            try {
                accepted = fill(c);
                assertEquals(0x97, publish(c, "capped/again", KIB), "still full");
            } finally {
                System.setErr(err);
            }
            String logged = log.toString(StandardCharsets.UTF_8);
            String line = "Sink journal " + dir + " is full (";
            assertTrue(logged.contains(line) && logged.contains("of journal.max.bytes = " + BOUND + " bytes used")
                    && logged.contains("biggest backlog: sink stalled (retrying, " + accepted + " records"), logged);
            assertEquals(logged.indexOf(line), logged.lastIndexOf(line), "logged once in 10 s: " + logged);
            assertTrue(accepted >= 100 && accepted <= BOUND / KIB.length, "accepted " + accepted);
            JournalInfo j = broker.journal();
            assertNotNull(j);
            assertTrue(j.full());
            assertTrue(j.usedBytes() <= BOUND, "used " + j.usedBytes());
            assertEquals(BOUND, j.maxBytes());
            assertEquals("stalled", j.biggestBacklog());
            assertEquals(2, j.refused());

            // QoS 2: PUBREC 0x97 (the flow ends there: a PUBLISH with this packet id is a new message)
            try (RawClient raw = RawClient.v5(TestBroker.port(broker), "bound-v5-qos2")) {
                raw.publish("capped/q2", 2, false, 5, KIB, null);
                assertEquals(0x97, Packets.reasonCode(raw.expect(MqttMessageType.PUBREC)));
            }
            assertEquals(3, broker.journal().refused());
            // a message no sink matches is not affected (0x10: no subscriber either)
            assertEquals(0x10, publish(c, "free/x", KIB));
            // QoS 0 for the sink is skipped and counted
            long skippedBefore = sink().skipped();
            c.publish("capped/q0", KIB, 0, false).waitForCompletion(10_000);
            Await.until("the QoS 0 message is counted as skipped", 5000,
                    () -> sink().skipped() == skippedBefore + 1 && broker.journal().skipped() == 1);

            store.down = false; // the store is back: the sink writes its backlog, segments are released
            Await.until("the sink wrote its backlog", 30_000, () -> sink().pendingRecords() == 0);
            assertEquals(accepted, store.byId.size(), "every accepted message, and no refused one");
            Await.until("the journal takes messages again", 30_000, () -> publish(c, "capped/after", KIB) == 0);
            assertFalse(broker.journal().full());
        } finally {
            c.disconnectForcibly(0, 1000, false);
            c.close();
        }
    }

    @Test
    void anMqtt311PublisherIsDisconnectedAndItsResendAfterTheBoundIsStoredOnce() throws Exception {
        SinkJournalTest.Store store = startWithStalledSink();
        MqttAsyncClient filler = paho("bound-filler");
        int accepted;
        try {
            accepted = fill(filler);
        } finally {
            filler.disconnectForcibly(0, 1000, false);
            filler.close();
        }
        byte[] payload = KIB.clone(); // as large as the filler's: a smaller message might still fit
        System.arraycopy("resend-me".getBytes(StandardCharsets.UTF_8), 0, payload, 0, 9);
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "bound-v3")) {
            c.publish("capped/v3", 1, false, 7, payload, null);
            c.assertClosedWithoutPackets(); // no PUBACK: the client still holds the message
        }
        assertTrue(broker.journal().refused() >= 2);

        store.down = false;
        Await.until("the sink wrote its backlog and segments were released", 30_000,
                () -> sink().pendingRecords() == 0 && broker.journal().usedBytes() < BOUND / 2);
        try (RawClient c = RawClient.v311(TestBroker.port(broker), "bound-v3")) {
            c.publish("capped/v3", 1, false, 7, payload, null); // the resend (same packet id)
            assertEquals(7, ((io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader)
                    c.expect(MqttMessageType.PUBACK).variableHeader()).messageId());
        }
        Await.until("the resent message is stored", 10_000, () -> store.byId.size() == accepted + 1);
        assertEquals(1, store.byId.values().stream().filter(p -> p.startsWith("resend-me")).count(), "stored exactly once");
    }
}
