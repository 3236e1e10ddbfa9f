package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import io.netty.handler.codec.mqtt.MqttMessage;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The event loops add the messages a sink takes to their pass's batch of journal records and hand it to the journal
 * once, at the end of the pass (Broker.journalBatchOfThisPass, a Netty tail task). A publisher that waits for each
 * PUBACK before its next PUBLISH is a pass of one message each time, with nothing else to hand its record over: if
 * the hand-off at the end of a pass went missing, or the writer was not woken for it, its messages would wait (for
 * ever, or for the writer to look by itself: the cursor save interval, 100 ms).
 */
class JournalWakeTest extends JournalBrokerTestBase {

    @Test
    void eachMessageOfAOneAtATimePublisherIsAcknowledgedWithoutWaitingForTheWriterToLookByItself() throws Exception {
        // interval: no force in the acknowledgement's path, so a PUBACK waits for the write alone
        broker = TestBroker.start(journalConfig()
                .journalFsync(BrokerConfig.JOURNAL_FSYNC_INTERVAL));
        SinkJournalTest.Store store = new SinkJournalTest.Store();
        broker.bindSink("wake", store, Map.of("topics", "w/#"));
        int n = 100;
        try (RawClient c = RawClient.v5(TestBroker.port(broker), "one-at-a-time")) {
            c.publish1("w/warm", "warm", 1); // the first one may open things
            long start = System.nanoTime();
            long slowest = 0;
            for (int i = 0; i < n; i++) {
                long t = System.nanoTime();
                MqttMessage ack = c.publish1("w/x", "m" + i, i + 2);
                assertEquals(0, Packets.reasonCode(ack));
                slowest = Math.max(slowest, System.nanoTime() - t);
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            // well under 1 ms each; with appends that did not wake the writer the 100 took 9,992 ms
            assertTrue(millis < 2_000, n + " PUBACKs one after the other took " + millis + " ms (slowest "
                    + slowest / 1_000_000 + " ms)");
        }
        Await.until("all in the sink", 10_000, () -> store.byId.size() == n + 1);
    }
}
