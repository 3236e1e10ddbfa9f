package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.broker.Await;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code identity.from.certificate = cn | san} (Mosquitto's {@code use_identity_as_username}) with
 * {@code allow.anonymous = false}: the verified client certificate's CN or first DNS/e-mail SAN is the user name the
 * authenticator, the authorizer and {@code mqtt:clients} ({@link ClientInfo}) see, whatever the CONNECT says; the
 * authenticator chain is still asked (a DENY refuses), and when it answers NEXT the client is allowed although
 * anonymous access is off. No certificate on such a listener: CONNECT refused with 0x87 / return code 5.
 */
class TlsIdentityTest extends TlsTestBase {

    private final Map<String, ConnectionContext> authenticated = new ConcurrentHashMap<>();
    /** client id -> user name the authorizer saw on SUBSCRIBE / PUBLISH. */
    private final Map<String, String> authorized = new ConcurrentHashMap<>();
    private int cn;
    private int san;
    private int want;

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("allow.anonymous", "false");
        return m;
    }

    @BeforeAll
    void listeners() {
        broker.setAuthenticators(List.of((ctx, req) -> {
            authenticated.put(ctx.clientId(), ctx);
            boolean deny = req.password() != null
                    && new String(req.password(), StandardCharsets.UTF_8).equals("deny-me");
            return CompletableFuture.completedFuture(deny
                    ? AuthenticationResult.deny(AuthenticationResult.NOT_AUTHORIZED, "denied by the test")
                    : AuthenticationResult.next());
        }));
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext c, String topic, int qos, boolean retain) {
                authorized.put(c.clientId() + " pub", String.valueOf(c.username()));
                return Decision.NEXT;
            }

            @Override
            public Decision authorizeSubscribe(ConnectionContext c, String filter, int qos) {
                authorized.put(c.clientId() + " sub", String.valueOf(c.username()));
                return Decision.NEXT;
            }
        }));
        cn = tlsListener("id-cn", pemOptions("client.auth", "need", "identity.from.certificate", "cn"));
        san = tlsListener("id-san", pemOptions("client.auth", "need", "identity.from.certificate", "SAN"));
        want = tlsListener("id-want", pemOptions("client.auth", "want", "identity.from.certificate", "cn"));
    }

    @Test
    void theCertificatesCommonNameIsTheUserName() throws Exception {
        String topic = "id/" + id("t");
        // the CONNECT's user name is replaced, the password is passed on
        List<String> subCmd = mosquitto("mosquitto_sub", cn, certs.client, "-i", id("sub"), "-u", "mallory",
                "-P", "pw", "-q", "1", "-t", topic, "-C", "1", "-W", "20");
        Process sub = start(subCmd);
        Await.until("subscriber connected", 10_000, () -> broker.clients().stream()
                .anyMatch(c -> c.clientId().equals(id("sub"))) && authorized.containsKey(id("sub") + " sub"));
        ClientInfo info = broker.clients().stream().filter(c -> c.clientId().equals(id("sub"))).findFirst()
                .orElseThrow();
        assertEquals("client1", info.username());
        assertEquals("id-cn", info.listener());
        assertEquals("client1", authenticated.get(id("sub")).username());
        assertEquals("client1", authorized.get(id("sub") + " sub"));

        Result pub = run(mosquitto("mosquitto_pub", cn, certs.client, "-i", id("pub"), "-V", "mqttv5", "-q", "1",
                "-t", topic, "-m", "from client1"));
        assertEquals(0, pub.exit(), pub.output());
        Result got = finish(sub, subCmd);
        assertEquals(0, got.exit(), got.output());
        assertEquals("from client1", got.output().trim());
        assertEquals("client1", authorized.get(id("pub") + " pub"));
        assertEquals("client1", authenticated.get(id("pub")).username());
        assertEquals("CN=client1",
                authenticated.get(id("pub")).peerCertificates().get(0).getSubjectX500Principal().getName());

        // anonymous access is off: the same client without the certificate's identity is refused
        RawClient plain = open();
        assertEquals(5, RawClient.returnCode(plain.connack(Packets.connect(
                io.netty.handler.codec.mqtt.MqttVersion.MQTT_3_1_1, id("plain"), true, 10, null))));
    }

    @Test
    void theFirstDnsOrEmailSubjectAlternativeNameIsTheUserName() throws Exception {
        Result pub = run(mosquitto("mosquitto_pub", san, certs.client, "-i", id("pub"), "-q", "1", "-t", "id/san",
                "-m", "x"));
        assertEquals(0, pub.exit(), pub.output());
        assertEquals("device-1.example.com", authenticated.get(id("pub")).username());
        assertEquals("device-1.example.com", authorized.get(id("pub") + " pub"));

        TestCerts.Pair mail = certs.issue("mail", "mail-client", "email:ops@example.com,DNS:later.example.com", 5,
                certs.ca, "ec");
        pub = run(mosquitto("mosquitto_pub", san, mail, "-i", id("mail"), "-q", "1", "-t", "id/san", "-m", "x"));
        assertEquals(0, pub.exit(), pub.output());
        assertEquals("ops@example.com", authenticated.get(id("mail")).username());

        // a certificate without such a name has no identity: refused
        TestCerts.Pair bare = certs.issue("bare", "bare", null, 5, certs.ca, "ec");
        pub = run(mosquitto("mosquitto_pub", san, bare, "-i", id("bare"), "-q", "1", "-t", "id/san", "-m", "x"));
        assertNotEquals(0, pub.exit(), pub.output());
        assertTrue(pub.output().contains("not authorised"), pub.output());
        assertFalse(authenticated.containsKey(id("bare")));
    }

    @Test
    void theAuthenticatorChainIsStillAsked() throws Exception {
        Result denied = run(mosquitto("mosquitto_pub", cn, certs.client, "-i", id("deny"), "-u", "x",
                "-P", "deny-me", "-q", "1", "-t", "id/x", "-m", "x"));
        assertNotEquals(0, denied.exit(), denied.output());
        assertTrue(denied.output().contains("not authorised"), denied.output());
        assertEquals("client1", authenticated.get(id("deny")).username());
    }

    @Test
    void noClientCertificateOnAnIdentityListenerIsRefused() throws Exception {
        // MQTT 5: 0x87 Not authorized
        MqttConnectionOptions o5 = new MqttConnectionOptions();
        o5.setSocketFactory(certs.clientContext(null).getSocketFactory());
        MqttClient c5 = new MqttClient("ssl://localhost:" + want, id("v5"), new MemoryPersistence());
        track(c5::close);
        try {
            c5.connect(o5);
            throw new AssertionError("connected without a certificate");
        } catch (MqttException e) {
            assertEquals(0x87, e.getReasonCode(), e.toString());
        }
        // MQTT 3.1.1: return code 5
        org.eclipse.paho.client.mqttv3.MqttConnectOptions o3 = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
        o3.setSocketFactory(certs.clientContext(null).getSocketFactory());
        o3.setUserName("mallory");
        o3.setPassword("pw".toCharArray());
        org.eclipse.paho.client.mqttv3.MqttClient c3 = new org.eclipse.paho.client.mqttv3.MqttClient(
                "ssl://localhost:" + want, id("v3"), new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        track(c3::close);
        try {
            c3.connect(o3);
            throw new AssertionError("connected without a certificate");
        } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
            assertEquals(5, e.getReasonCode(), e.toString());
        }
        assertFalse(authenticated.containsKey(id("v5")));
        assertFalse(authenticated.containsKey(id("v3")), "refused before the authenticators");

        // with the certificate the same listener takes it
        Result pub = run(mosquitto("mosquitto_pub", want, certs.client, "-i", id("ok"), "-q", "1", "-t", "id/w",
                "-m", "x"));
        assertEquals(0, pub.exit(), pub.output());
        assertEquals("client1", authenticated.get(id("ok")).username());
    }
}
