package io.brokkr.broker.config;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One network listener: {@code etc/io.brokkr.broker.listener-<name>.cfg}.
 *
 * @param name  listener name
 * @param type  listener type: "tcp", or "tls" (TLS keys in {@code options}, read by the transport's TlsSupport)
 * @param host  bind address
 * @param port  port, 0 for an ephemeral port; without a {@code port} key the type's ({@link #defaultPort})
 * @param queueFullPolicy the {@link QueueFullPolicy} of this listener's clients (cfg {@code queue.full.policy}), or
 *              null for the broker's
 * @param options every key of the cfg file as text (framework keys such as {@code service.pid} and
 *              {@code felix.fileinstall.filename} left out), for the keys a listener type reads itself (TLS files,
 *              WebSocket path, ...); never null, immutable
 */
public record ListenerConfig(String name, String type, String host, int port, QueueFullPolicy queueFullPolicy,
                             Map<String, String> options) {

    public ListenerConfig(String name, String type, String host, int port) {
        this(name, type, host, port, null, Map.of());
    }

    public ListenerConfig(String name, String type, String host, int port, QueueFullPolicy queueFullPolicy) {
        this(name, type, host, port, queueFullPolicy, Map.of());
    }

    public ListenerConfig {
        Objects.requireNonNull(name, "name");
        type = type == null ? "tcp" : type.trim().toLowerCase();
        host = host == null || host.isBlank() ? "0.0.0.0" : host.trim();
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port: " + port + " is outside [0, 65535]");
        }
        options = options == null ? Map.of() : Map.copyOf(options);
    }

    /** The cfg value of {@code key}, trimmed, or {@code def} when it is missing or blank. */
    public String option(String key, String def) {
        String v = options.get(key);
        return v == null || v.isBlank() ? def : v.trim();
    }

    public static ListenerConfig tcp(String name, String host, int port) {
        return new ListenerConfig(name, "tcp", host, port);
    }

    /**
     * The port of a listener type when its cfg has none: the IANA ports for MQTT (1883, and 8883 over TLS) and the
     * usual ones for MQTT over WebSocket (8083, and 8084 over TLS, as EMQX and HiveMQ use them).
     */
    public static int defaultPort(String type) {
        return switch (type.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "tls" -> 8883;
            case "ws" -> 8083;
            case "wss" -> 8084;
            default -> 1883;
        };
    }

    /** From a factory configuration's properties; {@code fallbackName} is used when there is no "name" key. */
    public static ListenerConfig fromProperties(Map<String, ?> p, String fallbackName) {
        Object name = p.get("name");
        Object type = p.get("type");
        Object host = p.get("host");
        int port = BrokerConfig.intProp(p, "port", defaultPort(type == null ? "tcp" : type.toString()), 0, 65_535);
        Object policy = p.get("queue.full.policy");
        QueueFullPolicy qfp;
        try {
            qfp = policy == null || policy.toString().isBlank() ? null : QueueFullPolicy.parse(policy.toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("queue.full.policy: " + e.getMessage());
        }
        Map<String, String> options = new TreeMap<>();
        p.forEach((k, v) -> {
            if (v != null && !k.startsWith("service.") && !k.startsWith("felix.") && !k.startsWith("component.")) {
                options.put(k, v.toString());
            }
        });
        return new ListenerConfig(name == null ? fallbackName : name.toString().trim(),
                type == null ? null : type.toString(), host == null ? null : host.toString(), port, qfp, options);
    }
}
