package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BanInfo;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.testing.Connects;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The broker's door with real clients (Paho 5 and 3.1.1, mosquitto_pub): a brute-force loop of wrong passwords is
 * slowed and then banned (CONNACK 0x8A), the ban listed and lifted; {@code clientid.prefixes}; address allow and
 * deny lists; the connection rate per address; loopback exempt from login bans by default. The keys are applied to
 * the running broker with {@code reconfigure}, as a cfg file change does.
 */
class GuardTest extends BrokerTestBase {

    @BeforeAll
    void authenticator() {
        // the password "wrong" is refused with 0x86, anything else is left to allow.anonymous = true
        broker.setAuthenticators(List.of((ctx, req) -> CompletableFuture.completedFuture(
                req.password() != null && new String(req.password(), StandardCharsets.UTF_8).equals("wrong")
                        ? AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD, "wrong")
                        : AuthenticationResult.next())));
    }

    @AfterEach
    void reset() {
        apply(Map.of());
        for (BanInfo b : broker.bans()) {
            broker.unban(b.address());
        }
    }

    private void apply(Map<String, String> keys) {
        Map<String, String> m = new HashMap<>(config());
        m.putAll(keys);
        broker.reconfigure(BrokerConfig.fromProperties(m));
    }

    /** MQTT 5 CONNECT: 0 if accepted, else the CONNACK reason code. */
    private int connect5(String clientId, String password) throws Exception {
        return Connects.v5(uri, clientId, "u", password, 10);
    }

    /** MQTT 3.1.1 CONNECT: 0 if accepted, else the CONNACK return code. */
    private int connect311(String clientId, String password) throws Exception {
        return Connects.v311(uri, clientId, "u", password, 10);
    }

    private long millis(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    @Test
    void aBruteForceLoopIsSlowedThenBanned() throws Exception {
        apply(Map.of("login.failures.exempt", "", "login.failures.delay.after", "2",
                "login.failures.ban.after", "4", "login.failures.delay.ms", "1500"));
        long t = System.nanoTime();
        assertEquals(0x86, connect5(id("b"), "wrong"));
        assertTrue(millis(t) < 1000, "the first refusal is not delayed: " + millis(t) + " ms");
        for (int i = 2; i <= 3; i++) {
            t = System.nanoTime();
            assertEquals(0x86, connect5(id("b"), "wrong"));
            assertTrue(millis(t) >= 1500, "refusal " + i + " delayed: " + millis(t) + " ms");
        }
        assertEquals(4, connect311(id("b"), "wrong")); // the 4th: banned from now on
        assertEquals(0x8A, connect5(id("b"), "right")); // even with the right password
        assertEquals(5, connect311(id("b"), "right"));
        TlsTestBase.Result pub = TlsTestBase.run(List.of("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V",
                "mqttv5", "-u", "u", "-P", "right", "-t", "g/x", "-m", "hi"));
        assertNotEquals(0, pub.exit(), pub.output());
        List<BanInfo> bans = broker.bans();
        assertEquals(1, bans.size(), bans.toString());
        assertEquals("127.0.0.1", bans.get(0).address());
        assertTrue(bans.get(0).reason().contains("4 failed logins"), bans.get(0).reason());
        assertTrue(bans.get(0).until().isAfter(java.time.Instant.now().plusSeconds(250)));

        assertTrue(broker.unban("127.0.0.1"));
        assertFalse(broker.unban("127.0.0.1"));
        assertEquals(0, connect5(id("b"), "right"));
        // a success forgets the failures: the next wrong one is not delayed
        t = System.nanoTime();
        assertEquals(0x86, connect5(id("b"), "wrong"));
        assertTrue(millis(t) < 1000, millis(t) + " ms");
    }

    @Test
    void loopbackIsExemptFromLoginBansByDefault() throws Exception {
        apply(Map.of("login.failures.delay.ms", "3000"));
        for (int i = 0; i < 12; i++) {
            long t = System.nanoTime();
            assertEquals(0x86, connect5(id("l"), "wrong"));
            assertTrue(millis(t) < 2500, "refusal " + i + " not delayed: " + millis(t) + " ms");
        }
        assertTrue(broker.bans().isEmpty());
        assertEquals(0, connect5(id("l"), "right"));
    }

    @Test
    void bansByHand() throws Exception {
        broker.ban("127.0.0.0/8", 60, "maintenance");
        assertEquals(0x8A, connect5(id("h"), "right"));
        assertEquals("maintenance", broker.bans().get(0).reason());
        assertTrue(broker.unban("127.0.0.0/8"));
        assertEquals(0, connect5(id("h"), "right"));
    }

    @Test
    void clientIdPrefixes() throws Exception {
        apply(Map.of("clientid.prefixes", "sensor-, gw-"));
        assertEquals(0x85, connect5("laptop-" + id("p"), "right"));
        assertEquals(2, connect311("laptop-" + id("p"), "right"));
        assertEquals(0, connect5("sensor-" + id("p"), "right"));
        assertEquals(0, connect311("gw-" + id("p"), "right"));
        TlsTestBase.Result pub = TlsTestBase.run(List.of("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-i",
                "laptop-x", "-t", "g/x", "-m", "hi"));
        assertNotEquals(0, pub.exit(), pub.output());
    }

    @Test
    void addressAllowAndDenyLists() throws Exception {
        apply(Map.of("address.deny", "127.0.0.0/8"));
        assertEquals(0x8A, connect5(id("a"), "right"));
        assertEquals(5, connect311(id("a"), "right"));
        apply(Map.of("address.allow", "10.0.0.0/8, 2001:db8::/32"));
        assertEquals(0x8A, connect5(id("a"), "right"));
        apply(Map.of("address.allow", "10.0.0.0/8, 127.0.0.1"));
        assertEquals(0, connect5(id("a"), "right"));
    }

    @Test
    void connectionRatePerAddress() throws Exception {
        apply(Map.of("connection.rate.per.address", "1"));
        assertEquals(0, connect5(id("r"), "right"));
        assertEquals(0x9F, connect5(id("r"), "right"), "a second CONNECT within a second at 1/s");
        assertEquals(3, connect311(id("r"), "right")); // 3.1.1: server unavailable
        Thread.sleep(1100); // a token back
        assertEquals(0, connect5(id("r"), "right"));
    }

    @Test
    void badKeysAreNamed() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> BrokerConfig.fromProperties(Map.of("address.deny", "10.0.0.0/33",
                        "login.failures.exempt", "localhost", "connection.rate.per.address", "-1")));
        assertTrue(e.getMessage().contains("address.deny:") && e.getMessage().contains("login.failures.exempt:")
                && e.getMessage().contains("connection.rate.per.address:"), e.getMessage());
    }
}
