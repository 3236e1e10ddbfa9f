package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.broker.Await;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS listeners ({@code type = tls}) with real clients: {@code mosquitto_pub}/{@code mosquitto_sub} over TLS 1.2
 * and 1.3, {@code openssl s_client}, Paho Java over ssl://; server-only TLS, {@code client.auth = need} (a good
 * client certificate accepted; none, an expired one and one of another CA refused) and {@code want} (no certificate
 * accepted), {@code tls.versions}; the {@link ConnectionContext#sslSession()} and
 * {@link ConnectionContext#peerCertificates()} the authenticator sees.
 */
class TlsListenerTest extends TlsTestBase {

    /** The context of each client's last authentication, by client id. */
    private final Map<String, ConnectionContext> contexts = new ConcurrentHashMap<>();
    private int none;
    private int need;
    private int want;
    private int only13;
    private int only12;
    private int need12;

    @BeforeAll
    void listeners() {
        broker.setAuthenticators(List.of((ctx, req) -> {
            contexts.put(ctx.clientId(), ctx);
            return CompletableFuture.completedFuture(AuthenticationResult.next());
        }));
        none = tlsListener("tls-none", pemOptions("ca.file", null));
        need = tlsListener("tls-need", pemOptions("client.auth", "need"));
        want = tlsListener("tls-want", pemOptions("client.auth", "want"));
        only13 = tlsListener("tls-13", pemOptions("tls.versions", "TLSv1.3", "ca.file", null));
        only12 = tlsListener("tls-12", pemOptions("tls.versions", "tlsv1.2", "ca.file", null));
        need12 = tlsListener("tls-need12", pemOptions("tls.versions", "TLSv1.2", "client.auth", "need"));
    }

    @Test
    void mosquittoClientsOverTls12And13() throws Exception {
        // mosquitto's --tls-version is the lowest version it offers: TLS 1.2 only comes from a TLS 1.2 listener
        String topic = "tls/" + id("x");
        Result pub = run(mosquitto("mosquitto_pub", none, null, "--tls-version", "tlsv1.3", "-i", id("pub"),
                "-V", "mqttv5", "-q", "1", "-r", "-t", topic, "-m", "over tls"));
        assertEquals(0, pub.exit(), pub.output());
        Result sub = run(mosquitto("mosquitto_sub", only12, null, "--tls-version", "tlsv1.2", "-i", id("sub"),
                "-V", "mqttv311", "-q", "1", "-t", topic, "-C", "1", "-W", "10"));
        assertEquals(0, sub.exit(), sub.output());
        assertEquals("over tls", sub.output().trim());
        run(mosquitto("mosquitto_pub", none, null, "-r", "-t", topic, "-n")); // clear the retained message

        ConnectionContext p = contexts.get(id("pub"));
        ConnectionContext s = contexts.get(id("sub"));
        assertEquals("tls", p.listenerType());
        assertEquals("tls-none", p.listenerName());
        assertEquals("tls-12", s.listenerName());
        assertEquals("TLSv1.3", p.sslSession().getProtocol());
        assertEquals("TLSv1.2", s.sslSession().getProtocol());
        assertNull(p.peerCertificates(), "no client certificate asked for");
        assertNull(s.peerCertificates());
        // the server's own certificate is the one of the session
        assertEquals(TestCerts.certificate(certs.server.cert()), p.sslSession().getLocalCertificates()[0]);

        // a client that insists on TLS 1.3 has no version in common with a TLS 1.2 listener
        Result pub13 = run(mosquitto("mosquitto_pub", only12, null, "--tls-version", "tlsv1.3", "-i", id("p13"),
                "-t", "tls/x", "-m", "x"));
        assertNotEquals(0, pub13.exit(), pub13.output());
        assertFalse(contexts.containsKey(id("p13")));
    }

    @Test
    void sClientNegotiatesTheVersionsOfTheListener() throws Exception {
        Result r12 = sClient(none, "-tls1_2");
        assertEquals("TLSv1.2", protocol(r12), r12.output());
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(r12));
        Result r13 = sClient(none, "-tls1_3");
        assertEquals("TLSv1.3", protocol(r13), r13.output());
        assertTrue(r13.output().contains("Verify return code: 0 (ok)"), r13.output());

        // tls.versions = TLSv1.3: a TLS 1.2 client has no version in common, and the other way round
        Result refused = sClient(only13, "-tls1_2");
        assertNotEquals(0, refused.exit(), refused.output());
        assertNull(protocol(refused), refused.output());
        assertEquals("TLSv1.3", protocol(sClient(only13, "-tls1_3")));
        assertNull(protocol(sClient(only12, "-tls1_3")));
        assertEquals("TLSv1.2", protocol(sClient(only12)), "the highest version the listener has");
    }

    @Test
    void needAcceptsAGoodClientCertificateAndRefusesTheOthers() throws Exception {
        // TLS 1.3 refuses a client certificate after the client's Finished (the client learns it from an alert),
        // TLS 1.2 during the handshake: both are covered
        for (String v : List.of("2", "3")) {
            int port = v.equals("2") ? need12 : need;
            Result ok = run(mosquitto("mosquitto_pub", port, certs.client, "-i", id("ok" + v), "-q", "1",
                    "-t", "tls/need", "-m", "x"));
            assertEquals(0, ok.exit(), ok.output());
            ConnectionContext ctx = contexts.get(id("ok" + v));
            assertEquals(TestCerts.certificate(certs.client.cert()), ctx.peerCertificates().get(0));
            assertEquals("CN=client1", ctx.peerCertificates().get(0).getSubjectX500Principal().getName());
            assertEquals("TLSv1." + v, ctx.sslSession().getProtocol());
            assertNull(ctx.username(), "identity.from.certificate is none: the CONNECT's user name (none)");

            for (TestCerts.Pair bad : new TestCerts.Pair[] {null, certs.expired, certs.stranger}) {
                String cid = id((bad == null ? "none" : bad.cert().getFileName().toString().substring(0, 3)) + v);
                Result refused = run(mosquitto("mosquitto_pub", port, bad, "-i", cid, "-q", "1", "-t", "tls/need",
                        "-m", "x"));
                assertNotEquals(0, refused.exit(), cid + ": " + refused.output());
                assertFalse(contexts.containsKey(cid), cid + " reached the authenticator");
            }
        }
        // and s_client: no certificate, no session on a "need" listener
        Result noCert = sClient(need12);
        assertNotEquals(0, noCert.exit(), noCert.output());
    }

    @Test
    void wantAcceptsClientsWithoutACertificate() throws Exception {
        Result anon = run(mosquitto("mosquitto_pub", want, null, "-i", id("anon"), "-q", "1", "-t", "tls/want",
                "-m", "x"));
        assertEquals(0, anon.exit(), anon.output());
        ConnectionContext a = contexts.get(id("anon"));
        assertNotNull(a.sslSession());
        assertNull(a.peerCertificates(), "no certificate presented");

        Result withCert = run(mosquitto("mosquitto_pub", want, certs.client, "-i", id("cert"), "-q", "1",
                "-t", "tls/want", "-m", "x"));
        assertEquals(0, withCert.exit(), withCert.output());
        List<X509Certificate> chain = contexts.get(id("cert")).peerCertificates();
        assertEquals(TestCerts.certificate(certs.client.cert()), chain.get(0));

        // a certificate that is presented must verify, also when it is only wanted
        Result expired = run(mosquitto("mosquitto_pub", want, certs.expired, "-i", id("exp"), "-q", "1",
                "-t", "tls/want", "-m", "x"));
        assertNotEquals(0, expired.exit(), expired.output());
        assertFalse(contexts.containsKey(id("exp")));
    }

    @Test
    void pahoOverSslWithAClientCertificate() throws Exception {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setSocketFactory(certs.clientContext(certs.client).getSocketFactory());
        MqttClient c = new MqttClient("ssl://localhost:" + need, id("paho"), new MemoryPersistence());
        track(c::close);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        c.connect(o);
        track(() -> {
            if (c.isConnected()) {
                c.disconnect();
            }
        });
        c.subscribe("tls/paho", 1, (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)));
        c.publish("tls/paho", "hello".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("hello", got.poll(10, TimeUnit.SECONDS));
        ConnectionContext ctx = contexts.get(id("paho"));
        SSLSession session = ctx.sslSession();
        assertEquals("TLSv1.3", session.getProtocol());
        assertEquals(2, ctx.peerCertificates().size(), "the key store's chain has the CA too: "
                + ctx.peerCertificates());
        assertEquals(TestCerts.certificate(certs.client.cert()), ctx.peerCertificates().get(0));
        Await.until("client listed", 5_000, () -> broker.clients().stream()
                .anyMatch(ci -> ci.clientId().equals(id("paho")) && ci.listener().equals("tls-need")));

        // without a certificate Paho cannot connect to the "need" listener
        MqttConnectOptions noCert = new MqttConnectOptions();
        noCert.setSocketFactory(certs.clientContext(null).getSocketFactory());
        MqttClient refused = new MqttClient("ssl://localhost:" + need, id("nocert"), new MemoryPersistence());
        track(refused::close);
        try {
            refused.connect(noCert);
            throw new AssertionError("connected without a client certificate");
        } catch (MqttException expected) {
            assertFalse(contexts.containsKey(id("nocert")));
        }
    }
}
