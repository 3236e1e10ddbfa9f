package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.Await;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;

/**
 * A TLS listener picks up a certificate and key replaced on disk (as {@code certbot renew} does) without a
 * restart: new handshakes get the new certificate (seen with {@code openssl s_client}) while a Paho client and a
 * {@code mosquitto_sub} connected before stay connected and keep receiving. A replacement that does not load (a
 * half-written certificate, a certificate whose key is not there yet) keeps the previous certificate in use and is
 * logged once, however many connections arrive meanwhile.
 */
class TlsReloadTest extends TlsTestBase {

    private static final String FAILED = "Listener reload: TLS files changed but cannot be used";

    @Test
    void replacedFilesAreUsedForNewHandshakesAndOpenConnectionsStay() throws Exception {
        Path live = Files.createDirectories(certs.dir.resolve("live"));
        Path cert = live.resolve("fullchain.pem");
        Path key = live.resolve("privkey.pem");
        Files.copy(certs.server.cert(), cert);
        Files.copy(certs.server.key(), key);
        int port = tlsListener("reload", pemOptions("cert.file", cert.toString(), "key.file", key.toString(),
                "ca.file", null));
        X509Certificate first = TestCerts.certificate(certs.server.cert());
        assertEquals(first, servedCertificate(sClient(port)));

        // connected before the renewal: Paho and mosquitto_sub (which leaves after two messages)
        MqttClient paho = new MqttClient("ssl://localhost:" + port, id("paho"), new MemoryPersistence());
        track(paho::close);
        MqttConnectOptions o = new MqttConnectOptions();
        o.setSocketFactory(certs.clientContext(null).getSocketFactory());
        paho.connect(o);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        paho.subscribe("reload/x", 1, (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)));
        List<String> subCmd = mosquitto("mosquitto_sub", port, null, "-i", id("sub"), "-q", "1", "-t", "reload/x",
                "-C", "2", "-W", "60");
        Process sub = start(subCmd);
        Await.until("mosquitto_sub subscribed", 10_000, () -> broker.subscriptions().stream().anyMatch(s -> s.clientId().equals(id("sub"))));
        paho.publish("reload/x", "before".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("before", got.poll(10, TimeUnit.SECONDS));

        // renewal: a new key and certificate moved over the old files
        TestCerts.Pair renewed = certs.issue("renewed", "localhost", "DNS:localhost,IP:127.0.0.1", 60, certs.ca,
                "ec");
        replace(renewed.cert(), cert);
        replace(renewed.key(), key);
        X509Certificate second = TestCerts.certificate(renewed.cert());
        Await.until("the renewed certificate served", 15_000,
                () -> second.equals(servedCertificate(sClient(port))));

        assertTrue(paho.isConnected());
        paho.publish("reload/x", "after".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("after", got.poll(10, TimeUnit.SECONDS));
        Result subOut = finish(sub, subCmd);
        assertEquals(0, subOut.exit(), subOut.output());
        assertEquals("before\nafter", subOut.output().trim());

        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(new TeeStream(log, err), true));
        try {
            // a half-written certificate: the renewed one stays, one error
            byte[] third = Files.readAllBytes(certs.issue("third", "localhost", "DNS:localhost,IP:127.0.0.1", 90,
                    certs.ca, "rsa").cert());
            Files.write(cert, java.util.Arrays.copyOf(third, third.length / 2));
            assertEquals(Set.of(second), servedFor(port, 2_500));
            assertEquals(1, count(log, FAILED), log.toString());
            assertTrue(log.toString().contains("no PEM certificate"), log.toString());

            // the whole certificate, but its key not yet written: it does not match the old key; still the renewed
            Files.write(cert, third);
            assertEquals(Set.of(second), servedFor(port, 2_500));
            assertEquals(2, count(log, FAILED), log.toString());
            assertTrue(log.toString().contains("does not match the certificate"), log.toString());

            // and the key: the third certificate is served
            replace(certs.dir.resolve("third.key"), key);
            X509Certificate thirdCert = TestCerts.certificate(certs.dir.resolve("third.crt"));
            Await.until("the third certificate served", 15_000,
                    () -> thirdCert.equals(servedCertificate(sClient(port))));
            assertEquals(2, count(log, FAILED), log.toString());
        } finally {
            System.setErr(err);
        }
        assertTrue(paho.isConnected());
        paho.publish("reload/x", "still".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("still", got.poll(10, TimeUnit.SECONDS));
        paho.disconnect();
    }

    /** Moves a copy of {@code from} over {@code to}, as certbot and most deployment tools replace files. */
    private static void replace(Path from, Path to) throws Exception {
        Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
        Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The certificates served to s_client connections made one after the other for {@code millis}. */
    private Set<X509Certificate> servedFor(int port, long millis) throws Exception {
        Set<X509Certificate> out = new HashSet<>();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        int n = 0;
        while (System.nanoTime() - end < 0 || n < 3) {
            out.add(servedCertificate(sClient(port)));
            n++;
        }
        return out;
    }

    private static int count(ByteArrayOutputStream log, String what) {
        String s = log.toString(StandardCharsets.UTF_8);
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** Writes to a buffer and on to the original stream. */
    private static final class TeeStream extends java.io.OutputStream {
        private final ByteArrayOutputStream copy;
        private final PrintStream out;

        TeeStream(ByteArrayOutputStream copy, PrintStream out) {
            this.copy = copy;
            this.out = out;
        }

        @Override
        public synchronized void write(int b) {
            copy.write(b);
            out.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            copy.write(b, off, len);
            out.write(b, off, len);
        }
    }
}
