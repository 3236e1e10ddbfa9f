package io.brokkr.connector.jdbc;

import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes batches into one PostgreSQL table over one connection, opened at the first write and opened again after any
 * failure. Used by the sink's thread only (the broker never calls {@code write} concurrently), apart from
 * {@link #close()}, which may come from another thread while a write is under way.
 *
 * <p>A batch is written by multi-row {@code INSERT ... VALUES (...), (...) ON CONFLICT (id) DO NOTHING} statements of
 * at most {@value #MAX_ROWS_PER_INSERT} rows, all in one transaction that is committed before {@code write} returns:
 * either the whole batch is stored or none of it, and a batch written again (after a failure whose commit was in fact
 * done, or after a restart of the broker) leaves one row per record id.
 *
 * <p>The driver is {@code org.postgresql.Driver}, instantiated directly rather than looked up through
 * {@code DriverManager}: in OSGi the driver's bundle is not visible to {@code DriverManager}'s ServiceLoader from this
 * bundle, while the class is, by the {@code org.postgresql} package import.
 */
final class PgWriter implements AutoCloseable {

    /** Rows per INSERT statement: 12 parameters a row, far below the protocol's 65,535 parameters a statement. */
    static final int MAX_ROWS_PER_INSERT = 1000;

    private static final Logger LOG = LoggerFactory.getLogger(PgWriter.class);
    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();
    private static final String COLUMNS = "id, sequence, sender, username, topic, payload, payload_encoding, qos, "
            + "retain, properties, time, datetime";

    /** How the payload column of the table is written, by its type. */
    private enum PayloadColumn { TEXT, JSON, JSONB, BYTEA }

    private final Object lock = new Object();
    /** Guarded by {@link #lock} (for {@link #close()}); otherwise used by the sink's thread only. */
    private Connection connection;
    private boolean closed;
    /** The configuration {@link #connection} was opened with, and the table prepared on it (sink's thread). */
    private Settings connectedWith;
    private String preparedTable;
    private PayloadColumn payloadColumn;

    /**
     * Writes the batch in one transaction and commits it.
     *
     * <p>A connection kept from an earlier write may have died meanwhile (the server was restarted): if it fails at
     * once with a connection error, the batch is tried once more on a new connection. A timeout is not tried again,
     * so that a server that does not answer fails the write after {@code socket.timeout.seconds}.
     *
     * @throws SQLException the driver's or the server's error; the connection is then closed
     */
    void write(Settings settings, List<SinkRecord> batch) throws SQLException {
        boolean reused = connection != null && settings.sameConnection(connectedWith);
        try {
            writeOnce(settings, batch);
        } catch (SQLException e) {
            if (!reused || !brokenConnection(e) || timedOut(e)) {
                throw e;
            }
            LOG.debug("connector {}: connection lost ({}), writing on a new one", settings.name(), e.getMessage());
            writeOnce(settings, batch);
        }
    }

    private void writeOnce(Settings settings, List<SinkRecord> batch) throws SQLException {
        Connection c = connection(settings);
        try {
            insert(c, settings, batch);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            discard();
            throw e;
        }
    }

    /** Closes the connection; a write under way fails, and any later one too. */
    @Override
    public void close() {
        Connection c;
        synchronized (lock) {
            closed = true;
            c = connection;
            connection = null;
        }
        closeQuietly(c);
    }

    /** The open connection for these settings, opened (and the table prepared) if needed. */
    private Connection connection(Settings settings) throws SQLException {
        Connection c;
        synchronized (lock) {
            if (closed) {
                throw new SQLException("the connector was stopped", "08003");
            }
            c = connection;
        }
        if (c != null && !settings.sameConnection(connectedWith)) {
            discard();
            c = null;
        }
        if (c == null) {
            c = open(settings);
            synchronized (lock) {
                if (closed) {
                    closeQuietly(c);
                    throw new SQLException("the connector was stopped", "08003");
                }
                connection = c;
            }
            connectedWith = settings;
            preparedTable = null;
        }
        if (!settings.table().equals(preparedTable)) {
            try {
                payloadColumn = prepareTable(c, settings);
            } catch (SQLException | RuntimeException e) {
                discard();
                throw e;
            }
            preparedTable = settings.table();
        }
        return c;
    }

    private static Connection open(Settings s) throws SQLException {
        Properties p = new Properties();
        if (s.user() != null) {
            p.setProperty("user", s.user());
        }
        if (s.password() != null) {
            p.setProperty("password", s.password());
        }
        p.setProperty("connectTimeout", Integer.toString(s.connectTimeoutSeconds()));
        p.setProperty("socketTimeout", Integer.toString(s.socketTimeoutSeconds()));
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "brokkr " + s.name());
        Connection c = DRIVER.connect(s.url(), p);
        if (c == null) {   // checked by Settings, so only if the driver changed its mind
            throw new SQLException("not a PostgreSQL JDBC URL: " + s.where(), "08001");
        }
        try {
            c.setAutoCommit(false);
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
        LOG.info("connector {}: connected to {}", s.name(), s.where());
        return c;
    }

    /**
     * Creates the table if it is missing (its payload column: jsonb for format json, else text) and finds out how
     * its payload column is to be written: a table made earlier, or by hand, keeps its type.
     */
    private static PayloadColumn prepareTable(Connection c, Settings s) throws SQLException {
        String payloadType = s.format().payload() == RecordFormat.Payload.JSON ? "jsonb" : "text";
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS " + s.table() + " ("
                    + "id text PRIMARY KEY, "
                    + "sequence bigint NOT NULL, "
                    + "sender text, "
                    + "username text, "
                    + "topic text, "
                    + "payload " + payloadType + ", "
                    + "payload_encoding text, "
                    + "qos smallint, "
                    + "retain boolean, "
                    + "properties jsonb, "
                    + "time bigint, "
                    + "datetime timestamptz)");
        }
        String type;
        try (PreparedStatement ps = c.prepareStatement("SELECT t.typname FROM pg_attribute a "
                + "JOIN pg_type t ON t.oid = a.atttypid "
                + "WHERE a.attrelid = to_regclass(?) AND a.attname = 'payload' AND NOT a.attisdropped")) {
            ps.setString(1, s.table());
            try (ResultSet rs = ps.executeQuery()) {
                type = rs.next() ? rs.getString(1) : null;
            }
        }
        c.commit();
        if (type == null) {
            throw new SQLException("table " + s.table() + " has no column payload", "42703");
        }
        return switch (type) {
            case "jsonb" -> PayloadColumn.JSONB;
            case "json" -> PayloadColumn.JSON;
            case "bytea" -> PayloadColumn.BYTEA;
            case "text", "varchar", "bpchar" -> PayloadColumn.TEXT;
            default -> throw new SQLException("column payload of table " + s.table() + " is of type " + type
                    + "; the connector writes text, varchar, json, jsonb or bytea", "42804");
        };
    }

    private void insert(Connection c, Settings s, List<SinkRecord> batch) throws SQLException {
        String payloadParam = switch (payloadColumn) {
            case JSONB -> "?::jsonb";
            case JSON -> "?::json";
            default -> "?";
        };
        String row = "(?, ?, ?, ?, ?, " + payloadParam + ", ?, ?, ?, ?::jsonb, ?, ?)";
        for (int from = 0; from < batch.size(); from += MAX_ROWS_PER_INSERT) {
            int n = Math.min(MAX_ROWS_PER_INSERT, batch.size() - from);
            StringBuilder sql = new StringBuilder(80 + n * (row.length() + 2))
                    .append("INSERT INTO ").append(s.table()).append(" (").append(COLUMNS).append(") VALUES ");
            for (int i = 0; i < n; i++) {
                sql.append(i == 0 ? "" : ", ").append(row);
            }
            sql.append(" ON CONFLICT (id) DO NOTHING");
            try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                int p = 1;
                for (int i = from; i < from + n; i++) {
                    p = bind(ps, p, s.format(), batch.get(i));
                }
                ps.executeUpdate();
            }
        }
    }

    /** Binds one row's 12 parameters from {@code p}; returns the next parameter index. */
    private int bind(PreparedStatement ps, int p, RecordFormat format, SinkRecord r) throws SQLException {
        Map<String, Object> m = format.toMap(r);
        ps.setString(p++, r.id());
        ps.setLong(p++, r.sequence());
        setString(ps, p++, (String) m.get("sender"));
        setString(ps, p++, (String) m.get("user"));
        setString(ps, p++, (String) m.get("topic"));
        if (m.containsKey("payload")) {
            p = bindPayload(ps, p, format, r.message().payload(), m.get("payload"),
                    (String) m.get("payloadEncoding"));
        } else {
            ps.setNull(p++, Types.VARCHAR);
            ps.setNull(p++, Types.VARCHAR);
        }
        if (m.get("qos") instanceof Integer qos) {
            ps.setShort(p++, qos.shortValue());
        } else {
            ps.setNull(p++, Types.SMALLINT);
        }
        if (m.get("retain") instanceof Boolean retain) {
            ps.setBoolean(p++, retain);
        } else {
            ps.setNull(p++, Types.BOOLEAN);
        }
        Object properties = m.get("properties");
        setString(ps, p++, properties == null ? null : RecordFormat.toJson(properties));
        if (m.get("time") instanceof Long time) {
            ps.setLong(p++, time);
        } else {
            ps.setNull(p++, Types.BIGINT);
        }
        if (m.containsKey("datetime")) {
            ps.setObject(p++, OffsetDateTime.ofInstant(Instant.ofEpochMilli(r.message().timestamp()), ZoneOffset.UTC));
        } else {
            ps.setNull(p++, Types.TIMESTAMP_WITH_TIMEZONE);
        }
        return p;
    }

    /**
     * Binds the payload and its {@code payload_encoding}. PostgreSQL cannot store the character U+0000 in text nor
     * in json(b): a payload holding one is written in base64 (payload_encoding {@code base64}) instead of failing
     * the batch over and over.
     */
    private int bindPayload(PreparedStatement ps, int p, RecordFormat format, byte[] raw, Object value,
                            String encoding) throws SQLException {
        if (payloadColumn == PayloadColumn.BYTEA) {
            ps.setBytes(p++, raw);
            ps.setNull(p++, Types.VARCHAR);
            return p;
        }
        String written;
        if (payloadColumn == PayloadColumn.TEXT) {
            // a JSON payload goes into a text column as the publisher wrote it
            written = format.payload() == RecordFormat.Payload.JSON && encoding == null
                    ? RecordFormat.utf8(raw) : (String) value;
            if (written.indexOf('\0') >= 0) {
                written = Base64.getEncoder().encodeToString(raw);
                encoding = format.payload() == RecordFormat.Payload.BASE64 ? null : "base64";
            }
        } else {
            if (hasNul(value)) {
                value = Base64.getEncoder().encodeToString(raw);
                encoding = "base64";
            }
            written = RecordFormat.toJson(value);
        }
        ps.setString(p++, written);
        setString(ps, p++, encoding);
        return p;
    }

    /** True if a parsed JSON value holds U+0000 in a string or a name. */
    private static boolean hasNul(Object value) {
        if (value instanceof String s) {
            return s.indexOf('\0') >= 0;
        }
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (hasNul(e.getKey()) || hasNul(e.getValue())) {
                    return true;
                }
            }
        }
        if (value instanceof List<?> list) {
            for (Object o : list) {
                if (hasNul(o)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void setString(PreparedStatement ps, int p, String value) throws SQLException {
        if (value == null) {
            ps.setNull(p, Types.VARCHAR);
        } else {
            ps.setString(p, value);
        }
    }

    /** Closes the connection after a failure: the next write opens a new one. */
    private void discard() {
        Connection c;
        synchronized (lock) {
            c = connection;
            connection = null;
        }
        connectedWith = null;
        preparedTable = null;
        closeQuietly(c);
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException | RuntimeException e) {
                LOG.debug("closing a connection failed", e);
            }
        }
    }

    /** A failure of the connection itself (SQLState class 08, or the server shutting the session down: 57P01-03). */
    private static boolean brokenConnection(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("08") || state.startsWith("57P0"));
    }

    static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }
}
