package io.brokkr.broker.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tunables of the broker engine. Mutable with fluent setters; the broker copies nothing, so change it only
 * through {@link Broker#reconfigure(BrokerConfig)}. Keys in {@code etc/io.brokkr.broker.cfg} are the names in
 * {@link #fromProperties(Map)}.
 */
public final class BrokerConfig {

    /** Session Expiry Interval meaning "never expires". */
    public static final long NEVER_EXPIRE = 0xFFFFFFFFL;

    private int keepAliveMax = 60;
    private int maxPacketSize = 268_435_455;
    private int receiveMaximum = 65_535;
    private int maxInflight = 20;
    private int maxQueuedMessages = 1000;
    private long maxQueuedBytes = 64L * 1024 * 1024;
    private boolean queueQos0 = false;
    private long sessionExpiryMax = NEVER_EXPIRE;
    private int topicAliasMaximum = 10;
    private boolean allowAnonymous = true;
    private boolean retainAvailable = true;
    private int maxQos = 2;
    private int sysInterval = 10;
    private String sysTopicsRole = "admin";
    private List<String> clientIdPrefixes = List.of();
    private List<Cidr> addressAllow = List.of();
    private List<Cidr> addressDeny = List.of();
    private int connectionRatePerAddress = 0;
    private int loginFailuresDelayAfter = 5;
    private int loginFailuresBanAfter = 10;
    private int loginFailuresWindowSeconds = 60;
    private int loginFailuresDelayMillis = 1000;
    private int loginFailuresBanSeconds = 300;
    private List<Cidr> loginFailuresExempt = List.of(Cidr.parse("127.0.0.0/8"), Cidr.parse("::1"));
    private boolean nativeTransport = true;
    private int ioThreads = 0;
    private int maxClientIdLength = 65_535;
    private int connectTimeoutSeconds = 20;
    private QueueFullPolicy queueFullPolicy = QueueFullPolicy.AUTO;
    private List<String> throttleClients = List.of();
    private List<String> dropClients = List.of();
    private String journalDir = null;
    private String journalFsync = JOURNAL_FSYNC_INTERVAL;
    private long journalFsyncIntervalMs = 1000;
    private long journalMaxBytes = JOURNAL_MAX_BYTES_DEFAULT;

    /** {@code journal.fsync = always}: a message is journalled once forced to disk. */
    public static final String JOURNAL_FSYNC_ALWAYS = "always";
    /** {@code journal.fsync = interval}: a message is journalled once written; the file is forced periodically. */
    public static final String JOURNAL_FSYNC_INTERVAL = "interval";
    /** {@link #journalMaxBytes()} when {@code journal.max.bytes} is not set: chosen at open from the free space. */
    public static final long JOURNAL_MAX_BYTES_DEFAULT = -1;

    public static BrokerConfig defaults() {
        return new BrokerConfig();
    }

    /** Reads the cfg keys; missing keys keep their defaults. Throws IllegalArgumentException naming a bad key. */
    public static BrokerConfig fromProperties(Map<String, ?> p) {
        List<String> errors = new ArrayList<>();
        BrokerConfig c = fromProperties(p, defaults(), errors);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        return c;
    }

    /**
     * Reads the cfg keys leniently: a missing key takes its default, a bad value keeps the value it has in
     * {@code current} (the running configuration) and adds a message naming the key to {@code errors}, so a typo
     * in one key never changes another one (say, {@code allow.anonymous}).
     */
    public static BrokerConfig fromProperties(Map<String, ?> p, BrokerConfig current, List<String> errors) {
        Keys k = new Keys(p, errors);
        BrokerConfig c = new BrokerConfig();
        c.keepAliveMax = k.integer("keepalive.max", c.keepAliveMax, current.keepAliveMax, 0, 65_535);
        c.maxPacketSize = k.integer("max.packet.size", c.maxPacketSize, current.maxPacketSize, 64, 268_435_455);
        c.receiveMaximum = k.integer("receive.maximum", c.receiveMaximum, current.receiveMaximum, 1, 65_535);
        c.maxInflight = k.integer("max.inflight", c.maxInflight, current.maxInflight, 1, 65_535);
        c.maxQueuedMessages = k.integer("max.queued.messages", c.maxQueuedMessages, current.maxQueuedMessages, 0,
                Integer.MAX_VALUE);
        c.maxQueuedBytes = k.number("max.queued.bytes", c.maxQueuedBytes, current.maxQueuedBytes, 0,
                Long.MAX_VALUE);
        c.queueQos0 = k.bool("queue.qos0", c.queueQos0, current.queueQos0);
        c.sessionExpiryMax = k.number("session.expiry.max", c.sessionExpiryMax, current.sessionExpiryMax, 0,
                NEVER_EXPIRE);
        c.topicAliasMaximum = k.integer("topic.alias.maximum", c.topicAliasMaximum, current.topicAliasMaximum, 0,
                65_535);
        c.allowAnonymous = k.bool("allow.anonymous", c.allowAnonymous, current.allowAnonymous);
        c.retainAvailable = k.bool("retain.available", c.retainAvailable, current.retainAvailable);
        c.maxQos = k.integer("max.qos", c.maxQos, current.maxQos, 0, 2);
        c.sysInterval = k.integer("sys.interval", c.sysInterval, current.sysInterval, 0, 86_400);
        // present but empty means "anyone": only a missing key takes the default
        Object role = p.get("sys.topics.role");
        c.sysTopicsRole = role == null ? c.sysTopicsRole : role.toString().trim();
        c.nativeTransport = k.bool("transport.native", c.nativeTransport, current.nativeTransport);
        c.ioThreads = k.integer("io.threads", c.ioThreads, current.ioThreads, 0, 1024);
        c.maxClientIdLength = k.integer("max.client.id.length", c.maxClientIdLength, current.maxClientIdLength, 23,
                65_535);
        c.connectTimeoutSeconds = k.integer("connect.timeout.seconds", c.connectTimeoutSeconds,
                current.connectTimeoutSeconds, 1, 3_600);
        Object jd = p.get("journal.dir");
        c.journalDir = jd == null || jd.toString().isBlank() ? null : jd.toString().trim();
        c.journalFsync = k.choice("journal.fsync", c.journalFsync, current.journalFsync, JOURNAL_FSYNC_ALWAYS,
                JOURNAL_FSYNC_INTERVAL);
        c.journalFsyncIntervalMs = k.number("journal.fsync.interval.ms", c.journalFsyncIntervalMs,
                current.journalFsyncIntervalMs, 1, 3_600_000);
        c.journalMaxBytes = k.number("journal.max.bytes", c.journalMaxBytes, current.journalMaxBytes, 0,
                Long.MAX_VALUE);
        c.queueFullPolicy = k.policy("queue.full.policy", c.queueFullPolicy, current.queueFullPolicy);
        c.clientIdPrefixes = k.list("clientid.prefixes");
        c.addressAllow = k.networks("address.allow", c.addressAllow, current.addressAllow);
        c.addressDeny = k.networks("address.deny", c.addressDeny, current.addressDeny);
        c.connectionRatePerAddress = k.integer("connection.rate.per.address", c.connectionRatePerAddress,
                current.connectionRatePerAddress, 0, 1_000_000);
        c.loginFailuresDelayAfter = k.integer("login.failures.delay.after", c.loginFailuresDelayAfter,
                current.loginFailuresDelayAfter, 0, 1_000_000);
        c.loginFailuresBanAfter = k.integer("login.failures.ban.after", c.loginFailuresBanAfter,
                current.loginFailuresBanAfter, 0, 1_000_000);
        c.loginFailuresWindowSeconds = k.integer("login.failures.window.seconds", c.loginFailuresWindowSeconds,
                current.loginFailuresWindowSeconds, 1, 86_400);
        c.loginFailuresDelayMillis = k.integer("login.failures.delay.ms", c.loginFailuresDelayMillis,
                current.loginFailuresDelayMillis, 0, 60_000);
        c.loginFailuresBanSeconds = k.integer("login.failures.ban.seconds", c.loginFailuresBanSeconds,
                current.loginFailuresBanSeconds, 1, 365 * 86_400);
        c.loginFailuresExempt = k.networks("login.failures.exempt", c.loginFailuresExempt,
                current.loginFailuresExempt);
        c.throttleClients = k.list("queue.full.policy.throttle.clients");
        c.dropClients = k.list("queue.full.policy.drop.clients");
        return c;
    }

    /** One integer key, strictly: IllegalArgumentException naming the key if the value is bad. */
    static int intProp(Map<String, ?> p, String key, int def, int min, int max) {
        List<String> errors = new ArrayList<>();
        int v = new Keys(p, errors).integer(key, def, def, min, max);
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(errors.get(0));
        }
        return v;
    }

    /** Reads one key at a time; a bad value is reported and replaced by the current one. */
    private record Keys(Map<String, ?> p, List<String> errors) {

        private String raw(String key) {
            Object v = p.get(key);
            return v == null ? null : String.valueOf(v).trim();
        }

        int integer(String key, int def, int current, int min, int max) {
            return (int) number(key, def, current, min, max);
        }

        long number(String key, long def, long current, long min, long max) {
            String v = raw(key);
            if (v == null || v.isEmpty()) {
                return def;
            }
            long n;
            try {
                n = Long.parseLong(v);
            } catch (NumberFormatException e) {
                errors.add(key + ": '" + v + "' is not a number");
                return current;
            }
            if (n < min || n > max) {
                errors.add(key + ": " + n + " is outside [" + min + ", " + max + "]");
                return current;
            }
            return n;
        }

        /** One of {@code options}, case-insensitive. */
        String choice(String key, String def, String current, String... options) {
            String v = raw(key);
            if (v == null || v.isEmpty()) {
                return def;
            }
            for (String o : options) {
                if (o.equalsIgnoreCase(v)) {
                    return o;
                }
            }
            errors.add(key + ": '" + v + "' is not one of " + String.join(", ", options));
            return current;
        }

        QueueFullPolicy policy(String key, QueueFullPolicy def, QueueFullPolicy current) {
            String v = raw(key);
            if (v == null || v.isEmpty()) {
                return def;
            }
            try {
                return QueueFullPolicy.parse(v);
            } catch (IllegalArgumentException e) {
                errors.add(key + ": " + e.getMessage());
                return current;
            }
        }

        /** A comma-separated list; blanks dropped. */
        List<String> list(String key) {
            String v = raw(key);
            if (v == null || v.isEmpty()) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (String part : v.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
            return List.copyOf(out);
        }

        /** A comma-separated list of IP addresses and CIDR networks; a present but empty value is the empty list. */
        List<Cidr> networks(String key, List<Cidr> def, List<Cidr> current) {
            Object present = p.get(key);
            if (present == null) {
                return def;
            }
            List<Cidr> out = new ArrayList<>();
            for (String part : list(key)) {
                try {
                    out.add(Cidr.parse(part));
                } catch (IllegalArgumentException e) {
                    errors.add(key + ": " + e.getMessage());
                    return current;
                }
            }
            return List.copyOf(out);
        }

        boolean bool(String key, boolean def, boolean current) {
            String v = raw(key);
            if (v == null || v.isEmpty()) {
                return def;
            }
            if (v.equalsIgnoreCase("true")) {
                return true;
            }
            if (v.equalsIgnoreCase("false")) {
                return false;
            }
            errors.add(key + ": '" + v + "' is not true or false");
            return current;
        }
    }

    /** Default {@link QueueFullPolicy} (cfg {@code queue.full.policy}). */
    public QueueFullPolicy queueFullPolicy() { return queueFullPolicy; }
    public BrokerConfig queueFullPolicy(QueueFullPolicy v) { queueFullPolicy = v; return this; }

    /** Client id prefixes whose sessions always throttle their publishers (cfg queue.full.policy.throttle.clients). */
    public List<String> throttleClients() { return throttleClients; }
    public BrokerConfig throttleClients(List<String> v) { throttleClients = List.copyOf(v); return this; }

    /** Client id prefixes whose sessions never throttle their publishers (cfg queue.full.policy.drop.clients). */
    public List<String> dropClients() { return dropClients; }
    public BrokerConfig dropClients(List<String> v) { dropClients = List.copyOf(v); return this; }

    /**
     * The policy of a client: a matching client id prefix first (the longest wins, drop before throttle on a tie),
     * then the listener's own setting, then {@link #queueFullPolicy()}.
     */
    public QueueFullPolicy queueFullPolicyOf(String clientId, QueueFullPolicy listenerPolicy) {
        int best = -1;
        QueueFullPolicy p = null;
        for (String prefix : dropClients) {
            if (clientId.startsWith(prefix) && prefix.length() > best) {
                best = prefix.length();
                p = QueueFullPolicy.DROP;
            }
        }
        for (String prefix : throttleClients) {
            if (clientId.startsWith(prefix) && prefix.length() > best) {
                best = prefix.length();
                p = QueueFullPolicy.THROTTLE;
            }
        }
        if (p != null) {
            return p;
        }
        return listenerPolicy != null ? listenerPolicy : queueFullPolicy;
    }

    /** Server cap on keep alive in seconds, sent as Server Keep Alive (MQTT 5). 0 = no cap. */
    public int keepAliveMax() { return keepAliveMax; }
    public BrokerConfig keepAliveMax(int v) { keepAliveMax = v; return this; }

    /** Largest packet accepted from clients (bytes), sent as Maximum Packet Size (MQTT 5). */
    public int maxPacketSize() { return maxPacketSize; }
    public BrokerConfig maxPacketSize(int v) { maxPacketSize = v; return this; }

    /** Inbound QoS 1/2 publishes a client may have unacknowledged (Receive Maximum sent in CONNACK). */
    public int receiveMaximum() { return receiveMaximum; }
    public BrokerConfig receiveMaximum(int v) { receiveMaximum = v; return this; }

    /** Cap on outbound unacknowledged QoS 1/2 messages per client (lowered further by the client's Receive Maximum). */
    public int maxInflight() { return maxInflight; }
    public BrokerConfig maxInflight(int v) { maxInflight = v; return this; }

    /** Messages queued per session beyond the inflight window or while offline; beyond that they are dropped. */
    public int maxQueuedMessages() { return maxQueuedMessages; }
    public BrokerConfig maxQueuedMessages(int v) { maxQueuedMessages = v; return this; }

    /**
     * Bytes of messages queued per session (each counted as the size of its MQTT 5 PUBLISH packet: payload, topic,
     * properties); a message that would take the queue over it is dropped like one over {@link #maxQueuedMessages}.
     * 0 = no bound.
     */
    /**
     * Directory of the sinks' journal ({@code journal.dir}); null: {@code ${karaf.data}/brokkr/journal} in Karaf,
     * {@code data/journal} elsewhere.
     */
    public String journalDir() { return journalDir; }
    public BrokerConfig journalDir(String v) { journalDir = v; return this; }

    /**
     * When a message counts as journalled for the sinks ({@code journal.fsync}): {@link #JOURNAL_FSYNC_ALWAYS} once
     * the journal forced it to disk, {@link #JOURNAL_FSYNC_INTERVAL} once it is written to the segment file (the page
     * cache), the file being forced every {@link #journalFsyncIntervalMs()} (the default, as Redis' {@code appendfsync
     * everysec}: survives a crash of the broker, not a power loss within the interval). Read when the journal opens.
     */
    public String journalFsync() { return journalFsync; }
    public BrokerConfig journalFsync(String v) { journalFsync = v; return this; }

    /** How often the journal is forced with {@code journal.fsync = interval} ({@code journal.fsync.interval.ms}). */
    public long journalFsyncIntervalMs() { return journalFsyncIntervalMs; }
    public BrokerConfig journalFsyncIntervalMs(long v) { journalFsyncIntervalMs = v; return this; }

    /**
     * Hard bound of the journal's disk use in bytes ({@code journal.max.bytes}); 0 = none;
     * {@link #JOURNAL_MAX_BYTES_DEFAULT} when not set (the journal then takes 10 GiB or half the free space of its
     * file system, whichever is smaller). Read when the journal opens.
     */
    public long journalMaxBytes() { return journalMaxBytes; }
    public BrokerConfig journalMaxBytes(long v) { journalMaxBytes = v; return this; }
    public long maxQueuedBytes() { return maxQueuedBytes; }
    public BrokerConfig maxQueuedBytes(long v) { maxQueuedBytes = v; return this; }

    /** Also queue QoS 0 messages for offline persistent sessions (Mosquitto's queue_qos0_messages). */
    public boolean queueQos0() { return queueQos0; }
    public BrokerConfig queueQos0(boolean v) { queueQos0 = v; return this; }

    /** Cap on session expiry in seconds; {@link #NEVER_EXPIRE} = no cap. Also applies to 3.1.1 persistent sessions. */
    public long sessionExpiryMax() { return sessionExpiryMax; }
    public BrokerConfig sessionExpiryMax(long v) { sessionExpiryMax = v; return this; }

    /** Topic Alias Maximum the broker accepts from clients (0 disables inbound aliases). */
    public int topicAliasMaximum() { return topicAliasMaximum; }
    public BrokerConfig topicAliasMaximum(int v) { topicAliasMaximum = v; return this; }

    /** Accept clients that no authenticator allowed explicitly. */
    public boolean allowAnonymous() { return allowAnonymous; }
    public BrokerConfig allowAnonymous(boolean v) { allowAnonymous = v; return this; }

    public boolean retainAvailable() { return retainAvailable; }
    public BrokerConfig retainAvailable(boolean v) { retainAvailable = v; return this; }

    public int maxQos() { return maxQos; }
    public BrokerConfig maxQos(int v) { maxQos = v; return this; }

    /** Seconds between $SYS updates; 0 disables $SYS. */
    public int sysInterval() { return sysInterval; }
    public BrokerConfig sysInterval(int v) { sysInterval = v; return this; }

    /**
     * The role ({@code ConnectionContext.hasRole}) a client needs to subscribe to a filter that can match a
     * {@code $SYS} topic when no {@code Authorizer} decides on the SUBSCRIBE (cfg {@code sys.topics.role},
     * default {@code admin}); empty: anyone may.
     */
    public String sysTopicsRole() { return sysTopicsRole; }
    public List<String> clientIdPrefixes() { return clientIdPrefixes; }
    public BrokerConfig clientIdPrefixes(List<String> v) { clientIdPrefixes = List.copyOf(v); return this; }
    public List<Cidr> addressAllow() { return addressAllow; }
    public BrokerConfig addressAllow(List<Cidr> v) { addressAllow = List.copyOf(v); return this; }
    public List<Cidr> addressDeny() { return addressDeny; }
    public BrokerConfig addressDeny(List<Cidr> v) { addressDeny = List.copyOf(v); return this; }
    public int connectionRatePerAddress() { return connectionRatePerAddress; }
    public BrokerConfig connectionRatePerAddress(int v) { connectionRatePerAddress = v; return this; }
    public int loginFailuresDelayAfter() { return loginFailuresDelayAfter; }
    public BrokerConfig loginFailuresDelayAfter(int v) { loginFailuresDelayAfter = v; return this; }
    public int loginFailuresBanAfter() { return loginFailuresBanAfter; }
    public BrokerConfig loginFailuresBanAfter(int v) { loginFailuresBanAfter = v; return this; }
    public int loginFailuresWindowSeconds() { return loginFailuresWindowSeconds; }
    public BrokerConfig loginFailuresWindowSeconds(int v) { loginFailuresWindowSeconds = v; return this; }
    public int loginFailuresDelayMillis() { return loginFailuresDelayMillis; }
    public BrokerConfig loginFailuresDelayMillis(int v) { loginFailuresDelayMillis = v; return this; }
    public int loginFailuresBanSeconds() { return loginFailuresBanSeconds; }
    public BrokerConfig loginFailuresBanSeconds(int v) { loginFailuresBanSeconds = v; return this; }
    public List<Cidr> loginFailuresExempt() { return loginFailuresExempt; }
    public BrokerConfig loginFailuresExempt(List<Cidr> v) { loginFailuresExempt = List.copyOf(v); return this; }
    public BrokerConfig sysTopicsRole(String v) { sysTopicsRole = v == null ? "" : v.trim(); return this; }

    /** Use epoll where available. */
    public boolean nativeTransport() { return nativeTransport; }
    public BrokerConfig nativeTransport(boolean v) { nativeTransport = v; return this; }

    /** Network/session threads; 0 = number of cores. */
    public int ioThreads() { return ioThreads; }
    public BrokerConfig ioThreads(int v) { ioThreads = v; return this; }

    public int maxClientIdLength() { return maxClientIdLength; }
    public BrokerConfig maxClientIdLength(int v) { maxClientIdLength = v; return this; }

    /** Seconds from the accept to the CONNACK (TLS handshake, WebSocket upgrade, CONNECT, authentication). */
    public int connectTimeoutSeconds() { return connectTimeoutSeconds; }
    public BrokerConfig connectTimeoutSeconds(int v) { connectTimeoutSeconds = v; return this; }
}
