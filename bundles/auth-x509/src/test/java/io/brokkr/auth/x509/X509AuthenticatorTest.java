package io.brokkr.auth.x509;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.it.TestCerts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The X.509 authenticator behind a real TLS listener ({@code client.auth = want}, the test CA as {@code ca.file})
 * with {@code allow.anonymous = false}: Paho 3.1.1 over ssl:// and mosquitto_pub with --cert/--key, certificates
 * made by openssl ({@link TestCerts}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class X509AuthenticatorTest {

    @TempDir
    static Path dir;
    TestCerts certs;
    Broker broker;
    int port;
    final Map<String, BrokkrPrincipal> principals = new ConcurrentHashMap<>();

    @BeforeAll
    void start() throws Exception {
        certs = new TestCerts(dir);
        broker = new Broker(BrokerConfig.defaults().sysInterval(0).allowAnonymous(false));
        broker.start();
        port = broker.openListener(new ListenerConfig("tls", "tls", "127.0.0.1", 0, null, Map.of(
                "cert.file", certs.server.cert().toString(), "key.file", certs.server.key().toString(),
                "ca.file", certs.ca.cert().toString(), "client.auth", "want"))).port();
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext c, String topic, int qos, boolean retain) {
                if (c.principal() != null) {
                    principals.put(c.clientId(), c.principal());
                }
                return Decision.NEXT;
            }
        }));
    }

    @AfterAll
    void stop() {
        broker.stop();
    }

    void use(Map<String, Object> cfg) {
        broker.setAuthenticators(List.of(new X509Authenticator(X509Authenticator.Settings.fromProperties(cfg))));
    }

    /** Paho 3.1.1 over TLS, publishing once: 0 if accepted, else the CONNACK return code. */
    int connect(String id, TestCerts.Pair clientCert, String user) throws Exception {
        MqttClient c = new MqttClient("ssl://127.0.0.1:" + port, id, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setConnectionTimeout(20);
        o.setSocketFactory(certs.clientContext(clientCert).getSocketFactory());
        if (user != null) {
            o.setUserName(user);
            o.setPassword("pw".toCharArray());
        }
        try {
            c.connect(o);
            c.publish("x509/t", new byte[] {1}, 1, false);
            c.disconnect();
            return 0;
        } catch (MqttException e) {
            return e.getReasonCode();
        } finally {
            c.close();
        }
    }

    int mosquittoPub(TestCerts.Pair clientCert, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port),
                "--cafile", certs.ca.cert().toString(), "-t", "x509/m", "-m", "hi", "-q", "1"));
        if (clientCert != null) {
            cmd.addAll(List.of("--cert", clientCert.cert().toString(), "--key", clientCert.key().toString()));
        }
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return p.exitValue();
    }

    @Test
    void aVerifiedCertificateAuthenticatesByItself() throws Exception {
        use(Map.of("identity", "cn", "role.client1", "admin, ops"));
        assertEquals(0, connect("x1", certs.client, null));
        BrokkrPrincipal p = principals.get("x1");
        assertNotNull(p);
        assertEquals("client1", p.name());
        assertEquals(Set.of("admin", "ops"), p.roles());
        assertEquals(5, connect("x2", null, null));          // no certificate: next, allow.anonymous=false
        assertEquals(4, connect("x3", null, "someone"));     // with a user name: bad user name or password
        assertEquals(0, mosquittoPub(certs.client, "-i", "x4", "-V", "mqttv5"));
        assertEquals(0, mosquittoPub(certs.client, "-i", "x5", "-V", "mqttv311"));
        assertNotEquals(0, mosquittoPub(null, "-i", "x6", "-V", "mqttv5"));
        // certificates the listener does not trust never reach the authenticator: the handshake fails
        assertNotEquals(0, mosquittoPub(certs.expired, "-i", "x7"));
        assertNotEquals(0, mosquittoPub(certs.stranger, "-i", "x8"));
    }

    @Test
    void identityFromTheSubjectAlternativeNameOrTheWholeSubject() throws Exception {
        use(Map.of("identity", "san"));
        assertEquals(0, connect("s1", certs.client, null));
        assertEquals("device-1.example.com", principals.get("s1").name());
        use(Map.of("identity", "dn"));
        assertEquals(0, connect("s2", certs.client, null));
        assertEquals("CN=client1", principals.get("s2").name());
    }

    @Test
    void theUserNameMustMatchWhenAsked() throws Exception {
        use(Map.of("username.must.match", "true"));
        assertEquals(0, mosquittoPub(certs.client, "-i", "m1", "-u", "client1", "-P", "x"));
        assertNotEquals(0, mosquittoPub(certs.client, "-i", "m2", "-u", "client2", "-P", "x"));
        assertEquals(4, connect("m3", certs.client, "client2"));
        assertEquals(0, connect("m4", certs.client, null)); // no user name: nothing to contradict
        use(Map.of());
        assertEquals(0, connect("m5", certs.client, "client2")); // not asked: the certificate decides
    }

    @Test
    void rolesFromTheOrganizationalUnitsAndBadSettings() {
        X500Principal dn = new X500Principal("CN=dev1, OU=sensors, OU=metrics, O=Acme");
        assertEquals(List.of("sensors", "metrics"), X509Authenticator.attributes(dn, "OU"));
        assertEquals(List.of("dev1"), X509Authenticator.attributes(dn, "CN"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                X509Authenticator.Settings.fromProperties(Map.of("identity", "email", "roles.from", "cn",
                        "username.must.match", "yes")));
        assertTrue(e.getMessage().contains("identity:") && e.getMessage().contains("roles.from:")
                && e.getMessage().contains("username.must.match:"), e.getMessage());
    }
}
