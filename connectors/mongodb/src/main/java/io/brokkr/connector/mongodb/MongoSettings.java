package io.brokkr.connector.mongodb;

import com.mongodb.AuthenticationMechanism;
import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoCredential;
import com.mongodb.MongoNamespace;
import com.mongodb.WriteConcern;
import io.brokkr.api.storage.RecordFormat;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A MongoDB sink's configuration, parsed and checked: everything the component needs to build its client and its
 * documents. {@link #parse} throws {@link IllegalArgumentException} with a message naming the bad key and value.
 *
 * @param connection     the connection string the client is built from ({@code uri}, or {@code host}/{@code port})
 * @param credential     the credential to authenticate with, or null (none)
 * @param connectTimeoutMs         TCP connect timeout
 * @param serverSelectionTimeoutMs how long an operation waits for a usable server
 * @param socketTimeoutMs          how long an operation waits for the server's answer
 * @param database       the database written to
 * @param collection     the collection written to
 * @param format         what each document holds
 */
record MongoSettings(ConnectionString connection, MongoCredential credential, int connectTimeoutMs,
                     int serverSelectionTimeoutMs, int socketTimeoutMs, String database, String collection,
                     RecordFormat format) {

    static final String URI = "uri";
    static final String HOST = "host";
    static final String PORT = "port";
    static final String DATABASE = "database";
    static final String COLLECTION = "collection";
    static final String USER = "user";
    static final String PASSWORD = "password";
    /** The password under a private key: DS does not publish keys that start with a dot as service properties. */
    static final String PRIVATE_PASSWORD = ".password";
    static final String AUTH_SOURCE = "auth.source";
    static final String CONNECT_TIMEOUT_MS = "connect.timeout.ms";
    static final String SERVER_SELECTION_TIMEOUT_MS = "server.selection.timeout.ms";
    static final String SOCKET_TIMEOUT_MS = "socket.timeout.ms";

    static final String DEFAULT_HOST = "localhost";
    static final int DEFAULT_PORT = 27017;
    static final String DEFAULT_DATABASE = "brokkr";
    static final String DEFAULT_COLLECTION = "messages";
    static final String DEFAULT_AUTH_SOURCE = "admin";
    static final int DEFAULT_CONNECT_TIMEOUT_MS = 5000;
    static final int DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000;
    static final int DEFAULT_SOCKET_TIMEOUT_MS = 10000;

    /**
     * Reads a configuration. The connection string comes from {@code uri}, else from {@code host}:{@code port}.
     * {@code user}, {@code password} and {@code auth.source} override the uri's credential part by part (a cfg
     * password with the uri's user, for example); a credential always uses SCRAM (SHA-256 or SHA-1, as the server
     * offers, or the one the uri names). A timeout key overrides the uri's option of the same meaning, which
     * overrides the default.
     *
     * @throws IllegalArgumentException naming the key and what is wrong with it
     */
    static MongoSettings parse(Map<String, ?> config) {
        ConnectionString cs = connectionString(config);
        WriteConcern wc = cs.getWriteConcern();
        if (wc != null && !wc.isAcknowledged()) {
            throw new IllegalArgumentException("uri: w=0 (unacknowledged writes) is not supported: the connector"
                    + " completes a batch only when the server has acknowledged it");
        }
        MongoCredential credential = credential(config, cs.getCredential());
        int connect = timeout(config, CONNECT_TIMEOUT_MS, cs.getConnectTimeout(), DEFAULT_CONNECT_TIMEOUT_MS);
        int selection = timeout(config, SERVER_SELECTION_TIMEOUT_MS, cs.getServerSelectionTimeout(),
                DEFAULT_SERVER_SELECTION_TIMEOUT_MS);
        int socket = timeout(config, SOCKET_TIMEOUT_MS, cs.getSocketTimeout(), DEFAULT_SOCKET_TIMEOUT_MS);
        String database = string(config, DATABASE, DEFAULT_DATABASE);
        String collection = string(config, COLLECTION, DEFAULT_COLLECTION);
        try {
            MongoNamespace.checkDatabaseNameValidity(database);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("database: '" + database + "' is not a valid database name: "
                    + e.getMessage());
        }
        // MongoDB's naming rules (the driver checks only that the name is not empty)
        if (collection.contains("$") || collection.indexOf('\0') >= 0 || collection.startsWith("system.")) {
            throw new IllegalArgumentException("collection: '" + collection + "' is not a valid collection name:"
                    + " it must not contain '$' or a null character, nor start with 'system.'");
        }
        return new MongoSettings(cs, credential, connect, selection, socket, database, collection,
                RecordFormat.from(config));
    }

    private static ConnectionString connectionString(Map<String, ?> config) {
        String uri = string(config, URI, null);
        String text;
        if (uri != null) {
            text = uri;
        } else {
            String host = string(config, HOST, DEFAULT_HOST);
            int port = integer(config, PORT, DEFAULT_PORT);
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " is not a TCP port");
            }
            text = "mongodb://" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
        }
        try {
            return new ConnectionString(text);
        } catch (IllegalArgumentException e) {
            // the driver's message names the problem; the uri itself may hold a password, so it is not repeated
            throw new IllegalArgumentException((uri != null ? "uri" : "host/port") + ": not a valid MongoDB"
                    + " connection string: " + e.getMessage());
        }
    }

    private static MongoCredential credential(Map<String, ?> config, MongoCredential fromUri) {
        String user = string(config, USER, null);
        String password = string(config, PRIVATE_PASSWORD, string(config, PASSWORD, null));
        String source = string(config, AUTH_SOURCE, null);
        if (user == null && password == null && source == null) {
            return fromUri;
        }
        if (user == null && fromUri != null) {
            user = fromUri.getUserName();
        }
        if (user == null) {
            if (password != null) {
                throw new IllegalArgumentException("password is set but no user (neither the key user nor the uri)");
            }
            return fromUri; // auth.source without any user: nothing to authenticate
        }
        if (fromUri != null && fromUri.getAuthenticationMechanism() != null
                && fromUri.getAuthenticationMechanism() != AuthenticationMechanism.SCRAM_SHA_1
                && fromUri.getAuthenticationMechanism() != AuthenticationMechanism.SCRAM_SHA_256) {
            throw new IllegalArgumentException("user/password/auth.source work with SCRAM only, but the uri asks for"
                    + " authMechanism=" + fromUri.getMechanism());
        }
        if (password == null && fromUri != null && fromUri.getPassword() != null) {
            password = new String(fromUri.getPassword());
        }
        if (password == null) {
            throw new IllegalArgumentException("user '" + user + "' has no password (set the key password or put"
                    + " it in the uri)");
        }
        if (source == null) {
            source = fromUri != null ? fromUri.getSource() : DEFAULT_AUTH_SOURCE;
        }
        char[] pw = password.toCharArray();
        AuthenticationMechanism mechanism = fromUri != null ? fromUri.getAuthenticationMechanism() : null;
        if (mechanism == AuthenticationMechanism.SCRAM_SHA_1) {
            return MongoCredential.createScramSha1Credential(user, source, pw);
        }
        if (mechanism == AuthenticationMechanism.SCRAM_SHA_256) {
            return MongoCredential.createScramSha256Credential(user, source, pw);
        }
        return MongoCredential.createCredential(user, source, pw);
    }

    /** The driver's settings for these: the connection string, the credential and the three timeouts. */
    MongoClientSettings clientSettings(String applicationName) {
        MongoClientSettings.Builder b = MongoClientSettings.builder()
                .applyConnectionString(connection)
                .applicationName(applicationName)
                .applyToClusterSettings(c -> c.serverSelectionTimeout(serverSelectionTimeoutMs, TimeUnit.MILLISECONDS))
                .applyToSocketSettings(s -> s.connectTimeout(connectTimeoutMs, TimeUnit.MILLISECONDS)
                        .readTimeout(socketTimeoutMs, TimeUnit.MILLISECONDS));
        if (credential != null) {
            b.credential(credential);
        }
        return b.build();
    }

    /**
     * True if a client built from {@code other} would be the same as one built from this (same connection string,
     * credential and timeouts): then only the database, the collection or the format changed, which needs no new
     * connection.
     */
    boolean sameConnection(MongoSettings other) {
        return other != null && connection.getConnectionString().equals(other.connection.getConnectionString())
                && sameCredential(credential, other.credential)
                && connectTimeoutMs == other.connectTimeoutMs
                && serverSelectionTimeoutMs == other.serverSelectionTimeoutMs
                && socketTimeoutMs == other.socketTimeoutMs;
    }

    private static boolean sameCredential(MongoCredential a, MongoCredential b) {
        if (a == null || b == null) {
            return a == b;
        }
        return Objects.equals(a.getUserName(), b.getUserName()) && Objects.equals(a.getSource(), b.getSource())
                && Objects.equals(a.getMechanism(), b.getMechanism())
                && Arrays.equals(a.getPassword(), b.getPassword());
    }

    /** The servers as configured, for messages ({@code localhost:27017}, or the hosts of the uri). */
    List<String> hosts() {
        return connection.getHosts();
    }

    private static String string(Map<String, ?> config, String key, String dflt) {
        Object v = config.get(key);
        if (v == null || v.toString().isBlank()) {
            return dflt;
        }
        return v.toString().trim();
    }

    private static int integer(Map<String, ?> config, String key, int dflt) {
        Object v = config.get(key);
        if (v == null || v.toString().isBlank()) {
            return dflt;
        }
        if (v instanceof Number n) {
            return n.intValue();
        }
        try {
            return Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": '" + v + "' is not a number");
        }
    }

    private static int timeout(Map<String, ?> config, String key, Integer fromUri, int dflt) {
        int ms = integer(config, key, fromUri != null ? fromUri : dflt);
        if (ms < 1) {
            // 0 means "no timeout" to the driver: a dead server would then hang the sink's thread
            throw new IllegalArgumentException(key + ": must be at least 1 ms, was " + ms);
        }
        return ms;
    }
}
