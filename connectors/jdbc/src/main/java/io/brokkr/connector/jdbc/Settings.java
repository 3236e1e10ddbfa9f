package io.brokkr.connector.jdbc;

import io.brokkr.api.storage.RecordFormat;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A sink's configuration, parsed once per (re)configuration. A bad value does not throw: {@link #error} says what is
 * wrong and every write fails with it, so that the broker shows the reason and retries (a corrected cfg reconfigures
 * the sink).
 *
 * @param name     the sink's name in messages: the configuration's {@code service.pid} (what the broker lists)
 * @param error    null, or why the configuration cannot be used
 */
record Settings(String name, String url, String user, String password, String table, int connectTimeoutSeconds,
                int socketTimeoutSeconds, RecordFormat format, String error) {

    static final String URL = "url";
    static final String USER = "user";
    static final String PASSWORD = "password";
    static final String TABLE = "table";
    static final String CONNECT_TIMEOUT = "connect.timeout.seconds";
    static final String SOCKET_TIMEOUT = "socket.timeout.seconds";

    static final String DEFAULT_TABLE = "mqtt_messages";
    static final int DEFAULT_CONNECT_TIMEOUT = 5;
    static final int DEFAULT_SOCKET_TIMEOUT = 10;

    /**
     * An unquoted PostgreSQL identifier, optionally schema-qualified: used in SQL as written (so folded to lower
     * case by the server, like any unquoted name), hence nothing that could need quoting or inject SQL.
     */
    private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}(\\.[A-Za-z_][A-Za-z0-9_]{0,62})?");

    static Settings from(Map<String, ?> config) {
        String name = string(config, "service.pid", string(config, "component.name", "io.brokkr.connector.jdbc"));
        String url = string(config, URL, null);
        String user = string(config, USER, null);
        Object pw = config.get(PASSWORD);
        String password = pw == null || pw.toString().isEmpty() ? null : pw.toString();   // not trimmed
        String table = string(config, TABLE, DEFAULT_TABLE);
        RecordFormat format = RecordFormat.DEFAULT;
        int connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        int socketTimeout = DEFAULT_SOCKET_TIMEOUT;
        String error = null;
        try {
            connectTimeout = seconds(config, CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT);
            socketTimeout = seconds(config, SOCKET_TIMEOUT, DEFAULT_SOCKET_TIMEOUT);
            format = RecordFormat.from(config);
            if (url == null) {
                throw new IllegalArgumentException("url is required (jdbc:postgresql://host:port/database)");
            }
            if (!url.startsWith("jdbc:postgresql:") || org.postgresql.Driver.parseURL(url, null) == null) {
                throw new IllegalArgumentException("url '" + redact(url)
                        + "' is not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)");
            }
            if (!TABLE_NAME.matcher(table).matches()) {
                throw new IllegalArgumentException("table '" + table + "' is not a valid table name: letters, digits"
                        + " and _, not starting with a digit, at most 63 characters, optionally schema.table");
            }
        } catch (IllegalArgumentException e) {
            error = e.getMessage();
        }
        return new Settings(name, url, user, password, table, connectTimeout, socketTimeout, format, error);
    }

    /** True if a connection opened with {@code other} can be used for this configuration. */
    boolean sameConnection(Settings other) {
        return Objects.equals(url, other.url) && Objects.equals(user, other.user)
                && Objects.equals(password, other.password) && connectTimeoutSeconds == other.connectTimeoutSeconds
                && socketTimeoutSeconds == other.socketTimeoutSeconds;
    }

    /** The URL without its parameters (which may hold a password), for messages. */
    String where() {
        return redact(url);
    }

    private static String redact(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?...";
    }

    private static String string(Map<String, ?> config, String key, String dflt) {
        Object v = config.get(key);
        if (v == null || v.toString().isBlank()) {
            return dflt;
        }
        return v.toString().trim();
    }

    private static int seconds(Map<String, ?> config, String key, int dflt) {
        String v = string(config, key, null);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(key + " must be a positive number of seconds, was '" + v + "'");
    }
}
