package io.brokkr.broker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.Cidr;
import io.brokkr.broker.transport.ConnectionGuard.Settings;
import io.brokkr.broker.transport.ConnectionGuard.Verdict;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The guard's rules on a clock of its own; the wiring into CONNECT is tested with real clients in GuardTest. */
class ConnectionGuardTest {

    final AtomicLong now = new AtomicLong(1_000_000_000L);

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void cidrMatching() throws Exception {
        assertTrue(Cidr.parse("10.0.0.0/8").contains(ip("10.255.1.2")));
        assertFalse(Cidr.parse("10.0.0.0/8").contains(ip("11.0.0.1")));
        assertTrue(Cidr.parse("192.168.1.128/25").contains(ip("192.168.1.200")));
        assertFalse(Cidr.parse("192.168.1.128/25").contains(ip("192.168.1.127")));
        assertTrue(Cidr.parse("203.0.113.7").contains(ip("203.0.113.7")));
        assertFalse(Cidr.parse("203.0.113.7").contains(ip("203.0.113.8")));
        assertTrue(Cidr.parse("0.0.0.0/0").contains(ip("8.8.8.8")));
        assertTrue(Cidr.parse("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assertFalse(Cidr.parse("2001:db8::/32").contains(ip("2001:db9::5")));
        assertFalse(Cidr.parse("2001:db8::/32").contains(ip("10.0.0.1")));
        assertTrue(Cidr.parse("10.0.0.0/8").contains(ip("::ffff:10.1.2.3"))); // v4-mapped v6
        for (String bad : List.of("", "example.com", "10.0.0.0/33", "10.0.0.0/x", "::1/129", "1.2.3.4/-1")) {
            assertThrows(IllegalArgumentException.class, () -> Cidr.parse(bad), bad);
        }
    }

    @Test
    void allowAndDenyLists() throws Exception {
        Settings d = Settings.defaults();
        ConnectionGuard g = new ConnectionGuard(new Settings(List.of(Cidr.parse("10.0.0.0/8")),
                List.of(Cidr.parse("10.6.6.0/24")), 0, List.of(), d.delayAfter(), d.banAfter(), d.window(),
                d.delay(), d.banTime(), d.exempt()), now::get);
        assertEquals(Verdict.ADMIT, g.admit(ip("10.1.1.1"), "c"));
        assertEquals(Verdict.DENIED_ADDRESS, g.admit(ip("10.6.6.6"), "c"));   // deny wins
        assertEquals(Verdict.DENIED_ADDRESS, g.admit(ip("192.0.2.1"), "c"));  // not in allow
    }

    @Test
    void connectionRatePerAddress() throws Exception {
        Settings d = Settings.defaults();
        ConnectionGuard g = new ConnectionGuard(new Settings(List.of(), List.of(), 5, List.of(), 0, 0, d.window(),
                d.delay(), d.banTime(), List.of()), now::get);
        for (int i = 0; i < 5; i++) {
            assertEquals(Verdict.ADMIT, g.admit(ip("192.0.2.1"), "c"), "burst " + i);
        }
        assertEquals(Verdict.RATE_EXCEEDED, g.admit(ip("192.0.2.1"), "c"));
        assertEquals(Verdict.ADMIT, g.admit(ip("192.0.2.2"), "c")); // another address has its own bucket
        advance(Duration.ofMillis(200)); // one token back at 5/s
        assertEquals(Verdict.ADMIT, g.admit(ip("192.0.2.1"), "c"));
        assertEquals(Verdict.RATE_EXCEEDED, g.admit(ip("192.0.2.1"), "c"));
    }

    @Test
    void clientIdPrefixes() throws Exception {
        Settings d = Settings.defaults();
        ConnectionGuard g = new ConnectionGuard(new Settings(List.of(), List.of(), 0, List.of("sensor-", "gw-"),
                0, 0, d.window(), d.delay(), d.banTime(), List.of()), now::get);
        assertEquals(Verdict.ADMIT, g.admit(ip("192.0.2.1"), "sensor-17"));
        assertEquals(Verdict.ADMIT, g.admit(ip("192.0.2.1"), "gw-1"));
        assertEquals(Verdict.CLIENT_ID_REFUSED, g.admit(ip("192.0.2.1"), "laptop"));
    }

    @Test
    void failedLoginsAreDelayedThenBannedAndTheBanEnds() throws Exception {
        ConnectionGuard g = new ConnectionGuard(Settings.defaults(), now::get); // delay after 5, ban after 10
        InetAddress a = ip("198.51.100.9");
        for (int i = 1; i <= 4; i++) {
            assertEquals(Duration.ZERO, g.loginFailed(a), "failure " + i);
        }
        for (int i = 5; i <= 9; i++) {
            assertEquals(Duration.ofSeconds(1), g.loginFailed(a), "failure " + i);
        }
        assertEquals(Verdict.ADMIT, g.admit(a, "c"));
        g.loginFailed(a); // the 10th
        assertEquals(Verdict.BANNED, g.admit(a, "c"));
        assertEquals(1, g.bans().size());
        assertEquals("198.51.100.9", g.bans().get(0).address());
        assertTrue(g.bans().get(0).reason().contains("10 failed logins"));
        assertEquals(Verdict.ADMIT, g.admit(ip("198.51.100.10"), "c")); // only that address
        advance(Duration.ofMinutes(5).plusSeconds(1));
        assertEquals(Verdict.ADMIT, g.admit(a, "c"));
        assertTrue(g.bans().isEmpty());
        assertEquals(Duration.ZERO, g.loginFailed(a)); // counting starts again
    }

    @Test
    void failuresOutsideTheWindowAndAfterASuccessDoNotCount() throws Exception {
        ConnectionGuard g = new ConnectionGuard(Settings.defaults(), now::get);
        InetAddress a = ip("198.51.100.9");
        for (int i = 0; i < 4; i++) {
            g.loginFailed(a);
        }
        advance(Duration.ofSeconds(61));
        assertEquals(Duration.ZERO, g.loginFailed(a)); // the first four left the window
        for (int i = 0; i < 3; i++) {
            g.loginFailed(a);
        }
        g.loginSucceeded(a);
        assertEquals(Duration.ZERO, g.loginFailed(a));
    }

    @Test
    void loopbackIsExemptByDefault() throws Exception {
        ConnectionGuard g = new ConnectionGuard(Settings.defaults(), now::get);
        for (int i = 0; i < 50; i++) {
            assertEquals(Duration.ZERO, g.loginFailed(ip("127.0.0.1")));
            assertEquals(Duration.ZERO, g.loginFailed(ip("::1")));
        }
        assertEquals(Verdict.ADMIT, g.admit(ip("127.0.0.1"), "c"));
    }

    @Test
    void bansByHand() throws Exception {
        ConnectionGuard g = new ConnectionGuard(Settings.defaults(), now::get);
        g.ban("203.0.113.0/24", Duration.ofHours(1), "by hand");
        assertEquals(Verdict.BANNED, g.admit(ip("203.0.113.99"), "c"));
        assertFalse(g.unban("203.0.113.1"));
        assertTrue(g.unban("203.0.113.0/24"));
        assertEquals(Verdict.ADMIT, g.admit(ip("203.0.113.99"), "c"));
        g.ban("127.0.0.1", Duration.ofSeconds(30), "even loopback, by hand");
        assertEquals(Verdict.BANNED, g.admit(ip("127.0.0.1"), "c"));
        assertEquals(1, g.unbanAll());
        assertThrows(IllegalArgumentException.class, () -> g.ban("not-an-ip", Duration.ofSeconds(1), "x"));
    }
}
