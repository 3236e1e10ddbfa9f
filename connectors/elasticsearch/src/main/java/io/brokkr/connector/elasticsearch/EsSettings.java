package io.brokkr.connector.elasticsearch;

import io.brokkr.api.storage.RecordFormat;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.http.HttpHost;

/**
 * The connector's configuration, parsed and checked; see {@link ElasticsearchSink.Config} for the keys.
 *
 * @param hosts            the nodes to send to (from {@code url}, comma separated)
 * @param index            the index name pattern
 * @param op               the bulk action, {@code create} or {@code index}
 * @param apiKey           the encoded API key sent as {@code Authorization: ApiKey ...}, or null
 * @param user             the user for basic authentication, or null
 * @param password         the password for basic authentication (empty if none)
 * @param connectTimeoutMs connect timeout per attempt
 * @param socketTimeoutMs  timeout waiting for response data
 * @param format           what is written per record
 * @param template         the name of the index template the connector installs before its first bulk when no
 *                         template of that name exists, or null ({@code template = false})
 * @param parallelRequests most {@code _bulk} requests a batch is split into, sent at once (records of one topic
 *                         always go in the same one, in order)
 */
record EsSettings(List<HttpHost> hosts, IndexPattern index, Op op, String apiKey, String user, String password,
                  int connectTimeoutMs, int socketTimeoutMs, RecordFormat format, String template,
                  int parallelRequests) {

    static final String URL = "url";
    static final String INDEX = "index";
    static final String OP = "op";
    static final String API_KEY = "api.key";
    static final String USER = "user";
    static final String PASSWORD = "password";
    static final String CONNECT_TIMEOUT_MS = "connect.timeout.ms";
    static final String SOCKET_TIMEOUT_MS = "socket.timeout.ms";
    static final String TEMPLATE = "template";
    static final String TEMPLATE_NAME = "template.name";
    static final String PARALLEL_REQUESTS = "parallel.requests";

    static final String DEFAULT_URL = "http://localhost:9200";
    static final String DEFAULT_INDEX = "mqtt-%{yyyy.MM.dd}";
    static final int DEFAULT_CONNECT_TIMEOUT_MS = 5000;
    static final int DEFAULT_SOCKET_TIMEOUT_MS = 10000;
    static final int DEFAULT_PARALLEL_REQUESTS = 2;
    static final int MAX_PARALLEL_REQUESTS = 8;

    /** The bulk action used per record. */
    enum Op {
        /** Writes a document only if its _id is new; a re-write gets a version conflict, taken as already written. */
        CREATE,
        /** Writes or overwrites the document with the _id; a re-write replaces it with the same content. */
        INDEX;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Parses a configuration.
     *
     * @throws IllegalArgumentException with a message naming the key and the bad value
     */
    static EsSettings from(Map<String, ?> config) {
        List<HttpHost> hosts = hosts(string(config, URL, DEFAULT_URL));
        IndexPattern index = IndexPattern.parse(string(config, INDEX, DEFAULT_INDEX));
        String opValue = string(config, OP, "create");
        Op op;
        try {
            op = Op.valueOf(opValue.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("op must be create or index, was '" + opValue + "'");
        }
        String apiKey = blankToNull(string(config, API_KEY, ""));
        String user = blankToNull(string(config, USER, ""));
        String password = config.get(PASSWORD) == null ? "" : config.get(PASSWORD).toString();
        if (apiKey != null && user != null) {
            throw new IllegalArgumentException("set either api.key or user/password, not both");
        }
        int connect = positiveInt(config, CONNECT_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS);
        int socket = positiveInt(config, SOCKET_TIMEOUT_MS, DEFAULT_SOCKET_TIMEOUT_MS);
        String templateValue = string(config, TEMPLATE, "true").toLowerCase(Locale.ROOT);
        if (!templateValue.equals("true") && !templateValue.equals("false")) {
            throw new IllegalArgumentException("template must be true or false, was '" + templateValue + "'");
        }
        String template = null;
        if (templateValue.equals("true")) {
            template = string(config, TEMPLATE_NAME, index.templateName());
            if (!template.equals(template.toLowerCase(Locale.ROOT)) || template.isEmpty()
                    || template.chars().anyMatch(c -> IndexPattern.ILLEGAL.indexOf(c) >= 0)) {
                throw new IllegalArgumentException("template.name must be lower case without spaces or any of "
                        + "\\/*?\"<>|,#:, was '" + template + "'");
            }
        }
        int parallel = positiveInt(config, PARALLEL_REQUESTS, DEFAULT_PARALLEL_REQUESTS, "a number of requests");
        if (parallel > MAX_PARALLEL_REQUESTS) {
            throw new IllegalArgumentException(PARALLEL_REQUESTS + " must be at most " + MAX_PARALLEL_REQUESTS
                    + ", was " + parallel);
        }
        return new EsSettings(hosts, index, op, apiKey, user, password, connect, socket, RecordFormat.from(config),
                template, parallel);
    }

    /** Whether the two need different HTTP clients (anything but index, op and format changed). */
    boolean sameConnection(EsSettings o) {
        return hosts.equals(o.hosts) && java.util.Objects.equals(apiKey, o.apiKey)
                && java.util.Objects.equals(user, o.user) && password.equals(o.password)
                && connectTimeoutMs == o.connectTimeoutMs && socketTimeoutMs == o.socketTimeoutMs;
    }

    /** What the installed index template depends on: installed again when this changes. */
    String templateKey() {
        return template + " " + index.wildcard() + " " + format.payload();
    }

    /** The urls for messages, as configured. */
    String urls() {
        return String.join(",", hosts.stream().map(HttpHost::toURI).toList());
    }

    static List<HttpHost> hosts(String value) {
        List<HttpHost> out = new ArrayList<>();
        for (String u : RecordFormat.split(value)) {
            URI uri;
            try {
                uri = new URI(u);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("url '" + u + "' is not a URL: " + e.getMessage());
            }
            String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!"http".equals(scheme) && !"https".equals(scheme)) {
                throw new IllegalArgumentException("url '" + u + "' must start with http:// or https://");
            }
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                throw new IllegalArgumentException("url '" + u + "' has no host");
            }
            if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
                throw new IllegalArgumentException("url '" + u + "': a path prefix is not supported");
            }
            int port = uri.getPort() > 0 ? uri.getPort() : 9200;
            out.add(new HttpHost(uri.getHost(), port, scheme));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("url must name at least one node");
        }
        return List.copyOf(out);
    }

    private static String string(Map<String, ?> config, String key, String def) {
        Object v = config.get(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Object[] a) {
            return String.join(",", java.util.Arrays.stream(a).map(String::valueOf).toList());
        }
        String s = v.toString().trim();
        return s.isEmpty() && !def.isEmpty() ? def : s;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static int positiveInt(Map<String, ?> config, String key, int def) {
        return positiveInt(config, key, def, "a number of milliseconds");
    }

    private static int positiveInt(Map<String, ?> config, String key, int def, String what) {
        Object v = config.get(key);
        if (v == null || v.toString().isBlank()) {
            return def;
        }
        try {
            int i = v instanceof Number n ? n.intValue() : Integer.parseInt(v.toString().trim());
            if (i <= 0) {
                throw new NumberFormatException();
            }
            return i;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a positive whole number (" + what + "), was '" + v
                    + "'");
        }
    }
}
