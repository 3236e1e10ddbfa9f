package io.brokkr.broker.transport;

import io.brokkr.broker.config.Cidr;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's door: which addresses may connect (CIDR allow and deny lists), how fast one address may open
 * connections (a token bucket per address), which client ids are accepted ({@code clientid.prefixes}), and the
 * failed-login limit: after {@code delayAfter} refused logins from one address within the window, each further
 * refusal is answered only after a delay; after {@code banAfter} the address is banned for a while (CONNACK 0x8A
 * Banned). Addresses in the exempt list (loopback by default, like fail2ban's ignoreip) are never slowed nor banned
 * by failed logins. Bans can also be set and lifted by hand ({@code mqtt:bans}, {@code mqtt:unban}).
 *
 * <p>Thread-safe and cheap: called by network threads at every CONNECT and every refused login; its maps hold one
 * entry per address seen lately and are swept as they are used.
 */
public final class ConnectionGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);

    /** What the guard says about a CONNECT. */
    public enum Verdict {
        ADMIT, DENIED_ADDRESS, BANNED, RATE_EXCEEDED, CLIENT_ID_REFUSED
    }

    /**
     * @param allow            if not empty, only these networks may connect
     * @param deny             these networks may not connect (wins over allow)
     * @param ratePerSecond    new connections per address per second (burst of the same size); 0 = no limit
     * @param clientIdPrefixes if not empty, a client id must start with one of these
     * @param delayAfter       refused logins within {@code window} after which refusals are delayed; 0 = never
     * @param banAfter         refused logins within {@code window} after which the address is banned; 0 = never
     * @param window           the window refused logins are counted in
     * @param delay            the delay of a refusal once {@code delayAfter} is reached
     * @param banTime          how long a ban by failed logins lasts
     * @param exempt           networks never delayed nor banned for failed logins
     */
    public record Settings(List<Cidr> allow, List<Cidr> deny, int ratePerSecond, List<String> clientIdPrefixes,
                           int delayAfter, int banAfter, Duration window, Duration delay, Duration banTime,
                           List<Cidr> exempt) {

        public Settings {
            allow = List.copyOf(allow);
            deny = List.copyOf(deny);
            clientIdPrefixes = List.copyOf(clientIdPrefixes);
            exempt = List.copyOf(exempt);
        }

        /** The guard keys of the broker's configuration. */
        public static Settings of(io.brokkr.broker.config.BrokerConfig c) {
            return new Settings(c.addressAllow(), c.addressDeny(), c.connectionRatePerAddress(),
                    c.clientIdPrefixes(), c.loginFailuresDelayAfter(), c.loginFailuresBanAfter(),
                    Duration.ofSeconds(c.loginFailuresWindowSeconds()), Duration.ofMillis(c.loginFailuresDelayMillis()),
                    Duration.ofSeconds(c.loginFailuresBanSeconds()), c.loginFailuresExempt());
        }

        /** No lists, no rate limit, failed logins delayed after 5 and banned for 5 min after 10 in a minute. */
        public static Settings defaults() {
            return new Settings(List.of(), List.of(), 0, List.of(), 5, 10, Duration.ofSeconds(60),
                    Duration.ofSeconds(1), Duration.ofMinutes(5), List.of(Cidr.parse("127.0.0.0/8"),
                    Cidr.parse("::1/128")));
        }
    }

    /** A ban: the address, when it ends, why. */
    public record Ban(String address, Instant until, String reason) {
    }

    /** Per address: its token bucket and its recent refused logins. */
    private static final class Door {
        double tokens;
        long refillNanos;
        final List<Long> failures = new ArrayList<>(); // nanoTime of each refused login in the window
        long lastSeenNanos;
    }

    private record BanEntry(Cidr network, long untilNanos, Instant until, String reason) {
    }

    private volatile Settings settings;
    private final LongSupplier clock;
    private final Map<InetAddress, Door> doors = new ConcurrentHashMap<>();
    private final Map<String, BanEntry> bans = new ConcurrentHashMap<>();
    private volatile long lastSweepNanos;

    public ConnectionGuard(Settings settings) {
        this(settings, System::nanoTime);
    }

    ConnectionGuard(Settings settings, LongSupplier clock) {
        this.settings = settings;
        this.clock = clock;
        this.lastSweepNanos = clock.getAsLong();
    }

    public void reconfigure(Settings s) {
        settings = s;
    }

    public Settings settings() {
        return settings;
    }

    /** Whether a CONNECT from {@code address} with {@code clientId} may go on (checked before authentication). */
    public Verdict admit(InetAddress address, String clientId) {
        Settings s = settings;
        long now = clock.getAsLong();
        sweep(now);
        if (address != null) {
            for (Cidr c : s.deny()) {
                if (c.contains(address)) {
                    return Verdict.DENIED_ADDRESS;
                }
            }
            if (!s.allow().isEmpty() && s.allow().stream().noneMatch(c -> c.contains(address))) {
                return Verdict.DENIED_ADDRESS;
            }
            if (banned(address, now) != null) {
                return Verdict.BANNED;
            }
            if (s.ratePerSecond() > 0 && !takeToken(address, s.ratePerSecond(), now)) {
                return Verdict.RATE_EXCEEDED;
            }
        }
        if (!s.clientIdPrefixes().isEmpty() && clientId != null
                && s.clientIdPrefixes().stream().noneMatch(clientId::startsWith)) {
            return Verdict.CLIENT_ID_REFUSED;
        }
        return Verdict.ADMIT;
    }

    private boolean takeToken(InetAddress address, int rate, long now) {
        Door d = doors.computeIfAbsent(address, a -> {
            Door n = new Door();
            n.tokens = rate;
            n.refillNanos = now;
            return n;
        });
        synchronized (d) {
            d.lastSeenNanos = now;
            d.tokens = Math.min(rate, d.tokens + (now - d.refillNanos) * rate / 1e9);
            d.refillNanos = now;
            if (d.tokens >= 1) {
                d.tokens -= 1;
                return true;
            }
            return false;
        }
    }

    /**
     * Notes a refused login (bad user name or password, not authorized) from {@code address}; returns how long the
     * refusal is to be delayed (zero for none). Bans the address once there were {@code banAfter} in the window.
     */
    public Duration loginFailed(InetAddress address) {
        Settings s = settings;
        if (address == null || s.exempt().stream().anyMatch(c -> c.contains(address))
                || s.delayAfter() <= 0 && s.banAfter() <= 0) {
            return Duration.ZERO;
        }
        long now = clock.getAsLong();
        Door d = doors.computeIfAbsent(address, a -> {
            Door n = new Door();
            n.tokens = s.ratePerSecond();
            n.refillNanos = now;
            return n;
        });
        int count;
        synchronized (d) {
            d.lastSeenNanos = now;
            long from = now - s.window().toNanos();
            d.failures.removeIf(t -> t - from < 0);
            d.failures.add(now);
            count = d.failures.size();
            if (s.banAfter() > 0 && count >= s.banAfter()) {
                d.failures.clear();
            }
        }
        if (s.banAfter() > 0 && count >= s.banAfter()) {
            ban(address.getHostAddress(), s.banTime(), count + " failed logins within " + s.window().toSeconds()
                    + " s");
            return s.delay();
        }
        return s.delayAfter() > 0 && count >= s.delayAfter() ? s.delay() : Duration.ZERO;
    }

    /** A successful login from {@code address} forgets its refused ones. */
    public void loginSucceeded(InetAddress address) {
        if (address == null) {
            return;
        }
        Door d = doors.get(address);
        if (d != null) {
            synchronized (d) {
                d.failures.clear();
            }
        }
    }

    /** Bans an address or network ({@code 203.0.113.7}, {@code 203.0.113.0/24}) for {@code time}. */
    public void ban(String addressOrCidr, Duration time, String reason) {
        Cidr c = Cidr.parse(addressOrCidr); // validates
        long now = clock.getAsLong();
        Instant until = Instant.now().plus(time);
        bans.put(c.text(), new BanEntry(c, now + time.toNanos(), until, reason));
        LOG.warn("Banned {} until {}: {}", c.text(), until, reason);
    }

    /** Lifts the ban of an address or network as it was banned; false if there was none. */
    public boolean unban(String addressOrCidr) {
        String key = addressOrCidr.trim();
        BanEntry removed = bans.remove(key);
        if (removed == null) {
            try {
                removed = bans.remove(Cidr.parse(key).text());
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        if (removed != null) {
            LOG.info("Ban of {} lifted", key);
        }
        return removed != null;
    }

    /** Lifts every ban; returns how many there were. */
    public int unbanAll() {
        int n = bans.size();
        bans.clear();
        return n;
    }

    /** The bans in force, the ones ending first first. */
    public List<Ban> bans() {
        long now = clock.getAsLong();
        List<Ban> out = new ArrayList<>();
        bans.forEach((k, b) -> {
            if (b.untilNanos() - now > 0) {
                out.add(new Ban(k, b.until(), b.reason()));
            }
        });
        out.sort(Comparator.comparing(Ban::until));
        return out;
    }

    private String banned(InetAddress address, long now) {
        if (bans.isEmpty()) {
            return null;
        }
        for (Iterator<Map.Entry<String, BanEntry>> it = bans.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, BanEntry> e = it.next();
            if (e.getValue().untilNanos() - now <= 0) {
                it.remove();
            } else if (e.getValue().network().contains(address)) {
                return e.getValue().reason();
            }
        }
        return null;
    }

    /** Drops the state of addresses not seen for a while (at most every 10 s). */
    private void sweep(long now) {
        if (now - lastSweepNanos < TimeUnit.SECONDS.toNanos(10)) {
            return;
        }
        lastSweepNanos = now;
        long window = Math.max(settings.window().toNanos(), TimeUnit.SECONDS.toNanos(10));
        doors.entrySet().removeIf(e -> now - e.getValue().lastSeenNanos > window);
    }
}
