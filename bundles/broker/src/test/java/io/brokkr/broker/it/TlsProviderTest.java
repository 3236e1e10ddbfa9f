package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ListenerInfo;
import io.brokkr.broker.transport.TlsSupport;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.OpenSslEngine;
import io.netty.handler.ssl.SslHandler;
import java.util.List;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;

/**
 * {@code tls.provider = jdk | openssl}: OpenSSL (BoringSSL through netty-tcnative, a test dependency here) serves the
 * same listener keys as the JDK: mosquitto_pub/mosquitto_sub over TLS 1.3 and 1.2, mTLS with the certificate's
 * identity; the JDK stays the default; an unknown provider leaves the listener unbound with the reason.
 */
class TlsProviderTest extends TlsTestBase {

    /** The engine of a connection accepted by a listener with these keys. */
    private SSLEngine engine(java.util.Map<String, String> options) {
        EmbeddedChannel ch = new EmbeddedChannel();
        try {
            SslHandler h = TlsSupport.open(tlsConfig("x", 0, options)).newHandler(ch);
            return h.engine();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void theJdkIsTheDefaultAndOpensslIsChosenByTheKey() {
        assertFalse(engine(pemOptions()) instanceof OpenSslEngine, "default provider: the JDK's");
        assertFalse(engine(pemOptions("tls.provider", "jdk")) instanceof OpenSslEngine);
        assertTrue(engine(pemOptions("tls.provider", "OpenSSL")) instanceof OpenSslEngine);
    }

    @Test
    void opensslServesMosquittoClientsOverTls13And12() throws Exception {
        int p = tlsListener("ossl", pemOptions("tls.provider", "openssl"));
        for (String v : List.of("tlsv1.3", "tlsv1.2")) {
            String topic = "ossl/" + id(v);
            List<String> subCmd = mosquitto("mosquitto_sub", p, null, "--tls-version", v, "-i", id("sub" + v),
                    "-q", "1", "-t", topic, "-C", "1", "-W", "20");
            Process sub = start(subCmd);
            io.brokkr.broker.Await.until("subscriber connected", 10_000, () -> broker.clients().stream()
                    .anyMatch(c -> c.clientId().equals(id("sub" + v))));
            Result pub = run(mosquitto("mosquitto_pub", p, null, "--tls-version", v, "-i", id("pub" + v),
                    "-q", "1", "-t", topic, "-m", "over " + v));
            assertEquals(0, pub.exit(), pub.output());
            Result got = finish(sub, subCmd);
            assertEquals(0, got.exit(), got.output());
            assertEquals("over " + v, got.output().trim());
        }
        Result r = sClient(p, "-tls1_3");
        assertEquals(TestCerts.certificate(certs.server.cert()), servedCertificate(r), r.output());
    }

    @Test
    void opensslWithClientCertificates() throws Exception {
        int p = tlsListener("ossl-mtls", pemOptions("tls.provider", "openssl", "client.auth", "need",
                "identity.from.certificate", "cn"));
        String topic = "ossl/" + id("mtls");
        List<String> subCmd = mosquitto("mosquitto_sub", p, certs.client, "-i", id("msub"), "-q", "1", "-t", topic,
                "-C", "1", "-W", "20");
        Process sub = start(subCmd);
        io.brokkr.broker.Await.until("subscriber connected", 10_000, () -> broker.clients().stream()
                .anyMatch(c -> c.clientId().equals(id("msub"))));
        assertEquals("client1", broker.clients().stream().filter(c -> c.clientId().equals(id("msub"))).findFirst()
                .orElseThrow().username());
        assertEquals(0, run(mosquitto("mosquitto_pub", p, certs.client, "-i", id("mpub"), "-q", "1", "-t", topic,
                "-m", "mtls")).exit());
        Result got = finish(sub, subCmd);
        assertEquals("mtls", got.output().trim(), got.output());
        // without a certificate, or with one of another CA: no handshake
        assertTrue(run(mosquitto("mosquitto_pub", p, null, "-i", id("anon"), "-t", topic, "-m", "x")).exit() != 0);
        assertTrue(run(mosquitto("mosquitto_pub", p, certs.stranger, "-i", id("stranger"), "-t", topic, "-m", "x"))
                .exit() != 0);
    }

    @Test
    void anUnknownProviderLeavesTheListenerUnboundWithTheReason() {
        broker.openListener(tlsConfig("nss", 0, pemOptions("tls.provider", "nss")));
        ListenerInfo l = info("nss");
        assertFalse(l.bound(), l.toString());
        assertTrue(l.error() != null && l.error().contains("tls.provider") && l.error().contains("nss"),
                String.valueOf(l.error()));
        broker.closeListener("nss");
    }
}
