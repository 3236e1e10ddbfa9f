package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The keep alive timers of many connections, kept together per event loop: each silent connection is disconnected
 * after one and a half of its own keep alive [MQTT-3.1.2-22], whatever the keep alives of the others and in
 * whatever order they connected, closed or re-armed.
 */
class KeepAliveTimersTest extends BrokerTestBase {

    /** How much later than one and a half keep alives a disconnect may be seen (a loaded machine, a GC). */
    private static final long LATE_MILLIS = 2_500;

    private static MqttMessage pingreq() {
        return new MqttMessage(new MqttFixedHeader(MqttMessageType.PINGREQ, false, MqttQoS.AT_MOST_ONCE, false, 0));
    }

    private RawClient connect(String name, int keepAlive) throws Exception {
        RawClient c = open();
        assertEquals(0, c.connack(Packets.connect(MqttVersion.MQTT_5, id(name), true, keepAlive, null))
                .variableHeader().connectReturnCode().byteValue());
        return c;
    }

    @Test
    void eachSilentConnectionTimesOutAfterItsOwnKeepAlive() throws Exception {
        // the later ones time out first: every new timer goes in front of the ones already armed
        RawClient slow = connect("ka3", 3);
        long slowSince = System.nanoTime();
        List<RawClient> gone = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            gone.add(connect("gone" + i, 1 + i % 3)); // closed again below: their timers leave the middle
        }
        RawClient middle = connect("ka2", 2);
        long middleSince = System.nanoTime();
        RawClient pinging = connect("ping", 1);
        RawClient fast = connect("ka1", 1);
        long fastSince = System.nanoTime();
        for (int i = 0; i < gone.size(); i++) {
            if (i % 2 == 0) {
                gone.get(i).disconnect();
            } else {
                gone.get(i).drop();
            }
        }

        Thread pinger = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    pinging.send(pingreq());
                    Thread.sleep(300);
                }
            } catch (InterruptedException e) {
                // done
            }
        });
        pinger.start();
        try {
            assertEquals(0x8D, fast.expectDisconnect());
            long fastMillis = (System.nanoTime() - fastSince) / 1_000_000;
            assertTrue(fastMillis >= 1_000, "keep alive 1 s: disconnected after only " + fastMillis + " ms");
            assertTrue(fastMillis < 1_500 + LATE_MILLIS, "keep alive 1 s: disconnected only after " + fastMillis + " ms");
            assertTrue(middle.isOpen() && slow.isOpen(), "longer keep alives are still open");

            assertEquals(0x8D, middle.expectDisconnect());
            long middleMillis = (System.nanoTime() - middleSince) / 1_000_000;
            assertTrue(middleMillis >= 2_500, "keep alive 2 s: disconnected after only " + middleMillis + " ms");
            assertTrue(middleMillis < 3_000 + LATE_MILLIS, "keep alive 2 s: disconnected only after " + middleMillis
                    + " ms");
            assertTrue(slow.isOpen(), "keep alive 3 s is still open");

            assertEquals(0x8D, slow.expectDisconnect());
            long slowMillis = (System.nanoTime() - slowSince) / 1_000_000;
            assertTrue(slowMillis >= 4_000, "keep alive 3 s: disconnected after only " + slowMillis + " ms");
            assertTrue(slowMillis < 4_500 + LATE_MILLIS, "keep alive 3 s: disconnected only after " + slowMillis
                    + " ms");

            assertTrue(pinging.isOpen(), "a client that pings every 300 ms with keep alive 1 s stays connected");
        } finally {
            pinger.interrupt();
            pinger.join();
        }
        // silent now: its timer was re-armed all along and still runs
        MqttMessage m;
        do {
            m = pinging.poll(10_000);
        } while (m != null && m.fixedHeader().messageType() == MqttMessageType.PINGRESP);
        assertTrue(m != null && m.fixedHeader().messageType() == MqttMessageType.DISCONNECT, "DISCONNECT: " + m);
        assertEquals(0x8D, Packets.reasonCode(m));
        assertTrue(pinging.awaitClosed());
    }
}
