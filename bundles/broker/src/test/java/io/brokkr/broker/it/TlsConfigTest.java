package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ListenerInfo;
import io.brokkr.broker.Await;
import io.brokkr.broker.config.ListenerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cfg of TLS listeners: the key formats that work (PKCS#8 as {@code openssl req -newkey} and {@code genpkey}
 * write them, encrypted PKCS#8 with {@code key.password}, PKCS#1 RSA, a PKCS#12 keystore with a truststore), and
 * wrong cfgs (missing or unreadable files, a key that does not match the certificate, a SEC1 key, a wrong password,
 * unknown TLS versions and cipher suites, a port in use): such a listener is listed unbound with the reason, the
 * other listeners keep working, and the fixed cfg binds it. Default ports by type.
 */
class TlsConfigTest extends TlsTestBase {

    private int good;

    @BeforeAll
    void goodListener() {
        good = tlsListener("good", pemOptions());
    }

    /** Opens a listener with the options and returns what mqtt:listeners shows of it. */
    private ListenerInfo open(String name, Map<String, String> options) {
        broker.openListener(tlsConfig(name, 0, options));
        return info(name);
    }

    private void assertUnbound(ListenerInfo l, String... reason) throws Exception {
        assertFalse(l.bound(), l.toString());
        for (String r : reason) {
            assertTrue(l.error() != null && l.error().contains(r), "'" + r + "' expected in: " + l.error());
        }
        assertTheOthersWork();
    }

    private void assertTheOthersWork() throws Exception {
        v311("tcp").disconnect();
        Result r = sClient(good);
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(r), r.output());
        assertTrue(info("good").bound());
    }

    @Test
    void keyFormats() throws Exception {
        Path d = certs.dir;
        // encrypted PKCS#8 (PBES2, AES-256, as OpenSSL 3 writes it) with key.password
        Path enc = d.resolve("server-enc.key");
        certs.openssl("pkcs8", "-topk8", "-in", certs.server.key().toString(), "-v2", "aes-256-cbc",
                "-passout", "pass:s3cret", "-out", enc.toString());
        assertTrue(Files.readString(enc).contains("BEGIN ENCRYPTED PRIVATE KEY"));
        int port = tlsListener("enc", pemOptions("key.file", enc.toString(), "key.password", "s3cret"));
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(sClient(port)));
        assertUnbound(open("enc-nopw", pemOptions("key.file", enc.toString())), "key.file", "set key.password");
        assertUnbound(open("enc-badpw", pemOptions("key.file", enc.toString(), "key.password", "wrong")),
                "cannot decrypt it with key.password");

        // genpkey with a password (EC) for a certificate of its own
        Path ecKey = d.resolve("ec-server.key");
        certs.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-aes256",
                "-pass", "pass:pw2", "-out", ecKey.toString());
        Path csr = d.resolve("ec-server.csr");
        Path ecCert = d.resolve("ec-server.crt");
        certs.openssl("req", "-new", "-key", ecKey.toString(), "-passin", "pass:pw2", "-subj", "/CN=localhost",
                "-out", csr.toString());
        certs.openssl("x509", "-req", "-in", csr.toString(), "-CA", certs.ca.cert().toString(), "-CAkey",
                certs.ca.key().toString(), "-CAcreateserial", "-days", "5", "-extfile",
                d.resolve("server.ext").toString(), "-out", ecCert.toString()); // SAN localhost, 127.0.0.1
        port = tlsListener("ec", pemOptions("cert.file", ecCert.toString(), "key.file", ecKey.toString(),
                "key.password", "pw2"));
        assertEquals(TestCerts.certificate(ecCert), servedCertificate(sClient(port)));
        Result pub = run(mosquitto("mosquitto_pub", port, null, "-t", "cfg/ec", "-m", "x", "-q", "1"));
        assertEquals(0, pub.exit(), pub.output());

        // PKCS#1 ("BEGIN RSA PRIVATE KEY", openssl genrsa of OpenSSL 1.x) is read too
        Path rsa1 = d.resolve("server-pkcs1.key");
        certs.openssl("rsa", "-in", certs.server.key().toString(), "-traditional", "-out", rsa1.toString());
        assertTrue(Files.readString(rsa1).contains("BEGIN RSA PRIVATE KEY"));
        port = tlsListener("pkcs1", pemOptions("key.file", rsa1.toString()));
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(sClient(port)));

        // a SEC1 EC key ("BEGIN EC PRIVATE KEY") is refused with the conversion to do
        Path sec1 = d.resolve("ec-sec1.key");
        certs.openssl("ec", "-in", ecKey.toString(), "-passin", "pass:pw2", "-out", sec1.toString());
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"), Files.readString(sec1));
        assertUnbound(open("sec1", pemOptions("cert.file", ecCert.toString(), "key.file", sec1.toString())),
                "EC PRIVATE KEY", "openssl pkcs8 -topk8");
    }

    @Test
    void keystoreAndTruststore() throws Exception {
        Path ks = certs.pkcs12(certs.server, "ks-pw");
        Path ts = certs.truststore("trust-pw");
        int port = tlsListener("p12", Map.of("keystore.file", ks.toString(), "keystore.password", "ks-pw",
                "truststore.file", ts.toString(), "truststore.password", "trust-pw", "client.auth", "need"));
        Result ok = run(mosquitto("mosquitto_pub", port, certs.client, "-t", "cfg/p12", "-m", "x", "-q", "1"));
        assertEquals(0, ok.exit(), ok.output());
        Result stranger = run(mosquitto("mosquitto_pub", port, certs.stranger, "-t", "cfg/p12", "-m", "x",
                "-q", "1"));
        assertTrue(stranger.exit() != 0, stranger.output());
        assertUnbound(open("p12-badpw", Map.of("keystore.file", ks.toString(), "keystore.password", "nope")),
                "keystore.file", "PKCS12");
    }

    @Test
    void wrongCfgsLeaveTheListenerUnboundWithTheReason() throws Exception {
        Path missing = certs.dir.resolve("nope.crt");
        assertUnbound(open("missing", pemOptions("cert.file", missing.toString())), "cert.file", missing.toString(),
                "no such file");
        assertUnbound(open("unreadable", pemOptions("key.file", certs.dir.toString())), "key.file",
                "cannot be read");
        assertUnbound(open("nokey", pemOptions("key.file", null)), "key.file is missing");
        // the client's key with the server's certificate
        assertUnbound(open("mismatch", pemOptions("key.file", certs.client.key().toString())),
                "does not match the certificate");
        assertUnbound(open("notpem", pemOptions("cert.file", certs.server.key().toString())),
                "no PEM certificate");
        assertUnbound(open("v11", pemOptions("tls.versions", "TLSv1.2,TLSv1.1")), "tls.versions", "TLSv1.1");
        assertUnbound(open("cipher", pemOptions("cipher.suites", "ECDHE-RSA-AES128-GCM-SHA256")),
                "cipher.suites", "IANA");
        assertUnbound(open("auth", pemOptions("client.auth", "need", "ca.file", null)),
                "needs ca.file or truststore.file");
        assertUnbound(open("identity", pemOptions("identity.from.certificate", "cn")), "needs client.auth");
        assertUnbound(open("clientauth", pemOptions("client.auth", "maybe")), "client.auth", "maybe");
        // a port in use: the TCP test listener's
        broker.openListener(tlsConfig("taken", port, pemOptions()));
        assertUnbound(info("taken"), "cannot bind");

        // an unknown type: listed too
        broker.openListener(new ListenerConfig("quic", "quic", "127.0.0.1", 0, null, Map.of()));
        assertUnbound(info("quic"), "unknown type 'quic'");
        broker.updateListener(tlsConfig("quic", 0, pemOptions()));
        assertTrue(info("quic").bound(), info("quic").toString());

        // fixing the cfg binds the listener (what the listener component does on a changed cfg file)
        broker.updateListener(tlsConfig("mismatch", 0, pemOptions()));
        ListenerInfo fixed = info("mismatch");
        assertTrue(fixed.bound(), fixed.toString());
        assertNull(fixed.error());
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(sClient(fixed.port())));
        for (String n : new String[] {"missing", "unreadable", "nokey", "mismatch", "notpem", "v11", "cipher",
                "auth", "identity", "clientauth", "taken", "quic"}) {
            broker.closeListener(n);
        }
    }

    @Test
    void aBadCfgForARunningListenerUnbindsItAndItsConnectionsStay() throws Exception {
        int port = tlsListener("running", pemOptions("cipher.suites",
                "TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        Result r = sClient(port, "-tls1_2");
        assertTrue(r.output().contains("ECDHE-RSA-AES128-GCM-SHA256"), r.output()); // OpenSSL's name of the suite
        MqttClient c = new MqttClient("ssl://localhost:" + port, id("stay"), new MemoryPersistence());
        track(c::close);
        MqttConnectOptions o = new MqttConnectOptions();
        o.setSocketFactory(certs.clientContext(null).getSocketFactory());
        c.connect(o);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        c.subscribe("cfg/stay", 1, (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)));

        // a changed TLS key applies to new handshakes, on the same socket
        broker.updateListener(tlsConfig("running", port, pemOptions("tls.versions", "TLSv1.3")));
        assertTrue(info("running").bound());
        assertEquals(port, info("running").port());
        Await.until("TLS 1.2 refused", 5_000, () -> protocol(sClient(port, "-tls1_2")) == null);
        assertEquals("TLSv1.3", protocol(sClient(port)));
        assertTrue(c.isConnected());

        broker.updateListener(tlsConfig("running", port, pemOptions("key.file", certs.client.key().toString())));
        ListenerInfo broken = info("running");
        assertFalse(broken.bound());
        assertTrue(broken.error().contains("does not match"), broken.error());
        assertTrue(c.isConnected());
        c.publish("cfg/stay", "still here".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("still here", got.poll(10, TimeUnit.SECONDS));

        broker.updateListener(tlsConfig("running", port, pemOptions()));
        assertTrue(info("running").bound());
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(sClient(port)));
        c.disconnect();
        broker.closeListener("running");
    }

    @Test
    void defaultPortByType() {
        assertEquals(1883, ListenerConfig.fromProperties(Map.of(), "a").port());
        assertEquals(1883, ListenerConfig.fromProperties(Map.of("type", "tcp"), "a").port());
        assertEquals(8883, ListenerConfig.fromProperties(Map.of("type", "tls"), "a").port());
        assertEquals(8883, ListenerConfig.fromProperties(Map.of("type", " TLS "), "a").port());
        assertEquals(8083, ListenerConfig.fromProperties(Map.of("type", "ws"), "a").port());
        assertEquals(8084, ListenerConfig.fromProperties(Map.of("type", "wss"), "a").port());
        assertEquals(8884, ListenerConfig.fromProperties(Map.of("type", "tls", "port", "8884"), "a").port());
    }
}
