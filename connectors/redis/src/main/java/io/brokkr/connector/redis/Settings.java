package io.brokkr.connector.redis;

import io.brokkr.api.storage.RecordFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import redis.clients.jedis.HostAndPort;

/**
 * A parsed configuration of the Redis connector. {@link Endpoint} holds what needs a new client when it changes;
 * the rest (layout, key prefix, TTL, format) applies to the next write without reconnecting.
 */
record Settings(Endpoint endpoint, Layout layout, String keyPrefix, long ttlSeconds, RecordFormat format) {

    /** What is written to Redis; see README "Redis connector". */
    enum Layout { STREAM, LIST, KEY }

    /**
     * Where and how to connect.
     *
     * @param nodes    cluster seed nodes, or the one standalone server
     * @param cluster  true if {@code nodes} was configured (Redis Cluster), false for {@code host}/{@code port}
     */
    record Endpoint(List<HostAndPort> nodes, boolean cluster, int database, String user, String password,
                    boolean ssl, String truststore, String truststorePassword, int timeoutMs) {

        /** For messages: {@code redis 127.0.0.1:6379} or {@code redis cluster 127.0.0.1:7001,127.0.0.1:7002}. */
        String describe() {
            StringBuilder sb = new StringBuilder(cluster ? "redis cluster " : "redis ");
            for (int i = 0; i < nodes.size(); i++) {
                sb.append(i == 0 ? "" : ",").append(nodes.get(i));
            }
            return sb.toString();
        }

        @Override
        public String toString() {
            return describe() + (ssl ? " (tls)" : "");
        }
    }

    /**
     * Reads a configuration (the component's properties).
     *
     * @throws IllegalArgumentException with a message naming the bad key and value
     */
    static Settings parse(Map<String, ?> config) {
        boolean cluster;
        List<HostAndPort> nodes = new ArrayList<>();
        List<String> seeds = RecordFormat.split(config.get("nodes"));
        if (!seeds.isEmpty()) {
            cluster = true;
            for (String seed : seeds) {
                nodes.add(hostAndPort(seed));
            }
        } else {
            cluster = false;
            String host = string(config, "host", "localhost");
            nodes.add(new HostAndPort(host, port(integer(config, "port", 6379), "port")));
        }
        int database = integer(config, "database", 0);
        if (database < 0) {
            throw new IllegalArgumentException("database must be 0 or more, was " + database);
        }
        int timeout = integer(config, "timeout.ms", 5000);
        if (timeout <= 0) {
            throw new IllegalArgumentException("timeout.ms must be positive, was " + timeout);
        }
        Endpoint endpoint = new Endpoint(List.copyOf(nodes), cluster, database, string(config, "user", null),
                string(config, "password", null), bool(config, "ssl"), string(config, "truststore", null),
                string(config, "truststore.password", null), timeout);

        String layoutValue = string(config, "layout", "stream");
        Layout layout;
        try {
            layout = Layout.valueOf(layoutValue.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("layout must be stream, list or key, was '" + layoutValue + "'");
        }
        Object prefix = config.get("key.prefix");
        String keyPrefix = prefix == null ? "mqtt:" : prefix.toString().trim();
        long ttl = longValue(config, "ttl.seconds", 0);
        if (ttl < 0) {
            throw new IllegalArgumentException("ttl.seconds must be 0 (no expiry) or more, was " + ttl);
        }
        return new Settings(endpoint, layout, keyPrefix, ttl, RecordFormat.from(config));
    }

    private static HostAndPort hostAndPort(String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException("nodes: '" + value + "' is not host:port");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            return new HostAndPort(host, port(Integer.parseInt(value.substring(colon + 1)), "nodes"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("nodes: '" + value + "' is not host:port");
        }
    }

    private static int port(int port, String key) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(key + ": port must be 1 to 65535, was " + port);
        }
        return port;
    }

    private static String string(Map<String, ?> config, String key, String def) {
        Object v = config.get(key);
        return v == null || v.toString().isBlank() ? def : v.toString().trim();
    }

    private static int integer(Map<String, ?> config, String key, int def) {
        long v = longValue(config, key, def);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " is out of range: " + v);
        }
        return (int) v;
    }

    private static long longValue(Map<String, ?> config, String key, long def) {
        Object v = config.get(key);
        if (v == null || v.toString().isBlank()) {
            return def;
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        try {
            return Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, was '" + v + "'");
        }
    }

    private static boolean bool(Map<String, ?> config, String key) {
        Object v = config.get(key);
        if (v == null || v.toString().isBlank()) {
            return false;
        }
        String s = v.toString().trim().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("false")) {
            return Boolean.parseBoolean(s);
        }
        throw new IllegalArgumentException(key + " must be true or false, was '" + v + "'");
    }
}
