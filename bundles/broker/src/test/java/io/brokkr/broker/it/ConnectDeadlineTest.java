package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code connect.timeout.seconds} counts from the start of the connection, not from its last byte: a client that
 * trickles its CONNECT a byte at a time (a slowloris) is closed when the time is up although bytes keep coming,
 * while one that connects in time stays.
 */
class ConnectDeadlineTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("connect.timeout.seconds", "1");
        return m;
    }

    @Test
    void aTrickledConnectIsClosedWhenTheTimeIsUpThoughBytesKeepComing() throws Exception {
        byte[] connect = Packets.rawConnect("MQTT", 4, 0x02, 30, null, Packets.utf8(id("slow") + "-".repeat(40)));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(100);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            long t0 = System.nanoTime();
            int sent = 0;
            boolean closed = false;
            while (sent < connect.length - 1 && !closed) { // never the last byte
                try {
                    out.write(connect[sent++]);
                } catch (java.io.IOException e) {
                    closed = true;
                    break;
                }
                try {
                    closed = in.read() < 0; // nothing but the close can come
                } catch (SocketTimeoutException e) {
                    // still open
                } catch (java.io.IOException e) {
                    closed = true;
                }
            }
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(closed, "closed before the CONNECT was complete (" + sent + " of " + connect.length + " bytes)");
            assertTrue(millis >= 900 && millis < 5_000, "closed after about 1 s: " + millis + " ms");
        }
    }

    @Test
    void aClientThatConnectsInTimeStays() throws Exception {
        RawClient c = v311("ok");
        Thread.sleep(1_500); // past the deadline: it was cancelled by the CONNACK
        c.publish1("deadline/" + id("t"), "still here", 1); // answered: still connected
    }
}
