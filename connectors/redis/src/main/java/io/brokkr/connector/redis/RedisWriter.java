package io.brokkr.connector.redis;

import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import io.brokkr.connector.redis.Settings.Endpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.params.XAddParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Writes batches to one Redis endpoint (a standalone server or a cluster) through one Jedis client, one pipeline (one
 * round trip per node) per batch. Not thread-safe: {@link RedisSink} calls it from one thread at a time.
 *
 * <p>Idempotency per layout (a re-written record leaves one copy):
 * <ul>
 *   <li>stream: the entry id is {@code <sequence>-0} (sequence 0: {@code 0-1}, as {@code 0-0} is not a valid id).
 *       XADD of an id that is not above the stream's top fails with "equal or smaller"; such a record is then looked up
 *       with XRANGE and counts as written only if the entry is there (and holds the same record id when the
 *       {@code id} field is written), so that a record is never silently skipped.</li>
 *   <li>list: a Lua script pushes a topic's records and keeps the highest sequence pushed in {@code <key>:seq}
 *       (in a cluster {@code {<key>}:seq}, in the list's hash slot) in the same atomic step; a record at or below
 *       that mark is not pushed again.</li>
 *   <li>key: the key name ends with the sequence, a re-write overwrites the same key.</li>
 * </ul>
 */
final class RedisWriter implements AutoCloseable {

    /** The start of the error XADD answers for an id at or below the stream's top. */
    static final String XADD_ID_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller";

    /**
     * KEYS[1] the list, KEYS[2] its high-water mark; ARGV: sequence, JSON, sequence, JSON, ... in increasing
     * sequence order. Pushes the records above the mark, moves the mark, returns how many were pushed.
     */
    static final String LIST_PUSH_SCRIPT = """
            local top = tonumber(redis.call('GET', KEYS[2]) or '-1')
            local pushed = 0
            for i = 1, #ARGV, 2 do
              local seq = tonumber(ARGV[i])
              if seq > top then
                redis.call('RPUSH', KEYS[1], ARGV[i + 1])
                top = seq
                pushed = pushed + 1
              end
            end
            if pushed > 0 then
              redis.call('SET', KEYS[2], string.format('%d', top))
            end
            return pushed
            """;

    private final Endpoint endpoint;
    private final UnifiedJedis client;

    private RedisWriter(Endpoint endpoint, UnifiedJedis client) {
        this.endpoint = endpoint;
        this.client = client;
    }

    Endpoint endpoint() {
        return endpoint;
    }

    /**
     * Creates the client. A standalone client connects lazily (on the first write); a cluster client reads the slot
     * map from the seed nodes here and fails if none answers.
     */
    static RedisWriter open(Endpoint e, String clientName) throws IOException, GeneralSecurityException {
        DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(e.timeoutMs()).socketTimeoutMillis(e.timeoutMs())
                .clientName(clientName);
        if (e.user() != null) {
            config.user(e.user());
        }
        if (e.password() != null) {
            config.password(e.password());
        }
        if (!e.cluster()) {
            config.database(e.database());
        }
        if (e.ssl()) {
            SSLParameters params = new SSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            config.ssl(true).sslSocketFactory(sslContext(e).getSocketFactory()).sslParameters(params);
        }
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        // a connection that the server closed (restart) is replaced before use instead of failing one batch
        pool.setTestOnBorrow(true);
        pool.setMaxTotal(4);
        pool.setMaxWait(Duration.ofMillis(e.timeoutMs()));
        pool.setJmxEnabled(false);
        UnifiedJedis client;
        if (e.cluster()) {
            client = RedisClusterClient.builder().nodes(new LinkedHashSet<>(e.nodes())).clientConfig(config.build())
                    .poolConfig(pool).maxAttempts(2).maxTotalRetriesDuration(Duration.ofMillis(2L * e.timeoutMs()))
                    .build();
        } else {
            client = RedisClient.builder().hostAndPort(e.nodes().get(0)).clientConfig(config.build())
                    .poolConfig(pool).build();
        }
        return new RedisWriter(e, client);
    }

    private static SSLContext sslContext(Endpoint e) throws IOException, GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        if (e.truststore() == null) {
            ctx.init(null, null, null);
            return ctx;
        }
        Path path = Path.of(e.truststore());
        KeyStore trust;
        byte[] bytes = Files.readAllBytes(path);
        if (new String(bytes, 0, Math.min(bytes.length, 64), StandardCharsets.US_ASCII).contains("-----BEGIN")) {
            trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            try (InputStream in = Files.newInputStream(path)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    trust.setCertificateEntry("ca-" + i++, c);
                }
            }
            if (i == 0) {
                throw new GeneralSecurityException("no certificate in " + path);
            }
        } else {
            trust = KeyStore.getInstance(KeyStore.getDefaultType());
            char[] pw = e.truststorePassword() == null ? null : e.truststorePassword().toCharArray();
            try (InputStream in = Files.newInputStream(path)) {
                trust.load(in, pw);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /**
     * Writes a batch in one pipeline and checks every answer.
     *
     * @throws RuntimeException (Jedis' own or {@link IllegalStateException}) naming the command and key that failed
     */
    void write(List<SinkRecord> batch, Settings s) {
        switch (s.layout()) {
            case STREAM -> writeStream(batch, s);
            case LIST -> writeList(batch, s);
            case KEY -> writeKeys(batch, s);
        }
    }

    // ---- stream ----

    static StreamEntryID entryId(long sequence) {
        return sequence == 0 ? new StreamEntryID(0, 1) : new StreamEntryID(sequence, 0);
    }

    /**
     * One {@code XADD key <sequence>-0 field value ...} per record, the arguments encoded here straight to bytes
     * (Jedis' typed {@code xadd} builds an {@link XAddParams}, a {@link StreamEntryID}, a map and one wrapper per
     * argument for each record, and parses every answer back into a {@link StreamEntryID}: a third of the sink
     * thread's time at 50,000 records/s). The answers are only checked for errors.
     */
    private void writeStream(List<SinkRecord> batch, Settings s) {
        List<Response<Object>> answers = new ArrayList<>(batch.size());
        byte[] prefix = s.keyPrefix().getBytes(StandardCharsets.UTF_8);
        Map<String, byte[]> keys = new HashMap<>();
        try (AbstractPipeline p = client.pipelined()) {
            for (SinkRecord r : batch) {
                byte[] key = keys.computeIfAbsent(r.message().topic(), t -> concat(prefix, utf8(t)));
                // key() marks the key: a cluster pipeline sends the command to the node of its slot
                CommandArguments args = new CommandArguments(Protocol.Command.XADD).key(key);
                xaddArgs(s.format(), r, args::add);
                answers.add(p.sendCommand(args));
            }
            p.sync();
        }
        List<SinkRecord> present = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            try {
                answers.get(i).get();
            } catch (JedisDataException e) {
                if (e.getMessage() == null || !e.getMessage().startsWith(XADD_ID_TOO_SMALL)) {
                    throw failed("XADD", s.keyPrefix() + batch.get(i).message().topic(), e);
                }
                present.add(batch.get(i));
            }
        }
        if (!present.isEmpty()) {
            verifyPresent(present, s);
        }
    }

    /**
     * The arguments of a record's XADD after the key: the entry id, then the record's fields as entry fields (scalars
     * as text, maps and lists such as {@code properties} or a JSON payload as JSON text). Encoded field by field as
     * {@link RecordFormat#forEachField} hands them over, numbers and booleans straight to ASCII bytes: the map of
     * {@link RecordFormat#toMap} and a String per number were a quarter of the sink thread's time.
     */
    static void xaddArgs(RecordFormat format, SinkRecord r, Consumer<byte[]> out) {
        out.accept(entryIdBytes(r.sequence()));
        FieldArgs fields = new FieldArgs(out);
        format.forEachField(r, fields);
        if (fields.count == 0) {
            // XADD needs at least one field
            out.accept(FIELD_ID);
            out.accept(utf8(r.id()));
        }
    }

    /** Hands each field of {@link RecordFormat#forEachField} on as two XADD arguments, name and value. */
    private static final class FieldArgs implements BiConsumer<String, Object> {
        private final Consumer<byte[]> out;
        private int count;

        FieldArgs(Consumer<byte[]> out) {
            this.out = out;
        }

        @Override
        public void accept(String name, Object v) {
            byte[] n = FIELD_NAMES.get(name);
            out.accept(n != null ? n : utf8(name));
            out.accept(value(v));
            count++;
        }
    }

    /** A field's value as XADD stores it: text as UTF-8, numbers and booleans as their decimal text, maps as JSON. */
    static byte[] value(Object v) {
        if (v instanceof String str) {
            return utf8(str);
        }
        if (v instanceof Boolean b) {
            return b ? TRUE : FALSE;
        }
        if (v instanceof Integer i && i >= 0 && i < SMALL.length) {
            return SMALL[i];
        }
        if (v instanceof Long l) {
            return decimal(l, null);
        }
        if (v instanceof Map<?, ?> || v instanceof List<?>) {
            return utf8(RecordFormat.toJson(v));
        }
        return ascii(String.valueOf(v));
    }

    private static final byte[] TRUE = ascii("true");
    private static final byte[] FALSE = ascii("false");
    private static final byte[] ZERO_DASH_ONE = ascii("0-1");
    private static final byte[] DASH_ZERO = ascii("-0");
    private static final byte[][] SMALL = {ascii("0"), ascii("1"), ascii("2")};

    /** {@link #entryId}'s text as bytes: {@code <sequence>-0}, {@code 0-1} for sequence 0. */
    static byte[] entryIdBytes(long sequence) {
        return sequence == 0 ? ZERO_DASH_ONE : decimal(sequence, DASH_ZERO);
    }

    /** {@code Long.toString(n)} as ASCII bytes, followed by {@code suffix} if not null. */
    static byte[] decimal(long n, byte[] suffix) {
        int tail = suffix == null ? 0 : suffix.length;
        if (n < 0) { // not written by the broker (sequences and times are positive), kept simple
            byte[] text = ascii(Long.toString(n));
            return tail == 0 ? text : concat(text, suffix);
        }
        int digits = 1;
        while (digits < 19 && n >= POW10[digits]) {
            digits++;
        }
        byte[] out = new byte[digits + tail];
        int i = digits;
        while (n >= 100) { // two digits per division
            long q = n / 100;
            int r = (int) (n - q * 100);
            out[--i] = (byte) ('0' + r % 10);
            out[--i] = (byte) ('0' + r / 10);
            n = q;
        }
        int r = (int) n;
        out[--i] = (byte) ('0' + r % 10);
        if (r >= 10) {
            out[--i] = (byte) ('0' + r / 10);
        }
        if (tail > 0) {
            System.arraycopy(suffix, 0, out, digits, tail);
        }
        return out;
    }

    /** 10^0 .. 10^18. */
    private static final long[] POW10 = new long[19];

    static {
        POW10[0] = 1;
        for (int i = 1; i < POW10.length; i++) {
            POW10[i] = POW10[i - 1] * 10;
        }
    }

    private static final byte[] FIELD_ID = ascii("id");
    /** The field names RecordFormat writes, encoded once. */
    private static final Map<String, byte[]> FIELD_NAMES = Map.ofEntries(
            Map.entry("id", FIELD_ID), Map.entry("sender", ascii("sender")), Map.entry("user", ascii("user")),
            Map.entry("topic", ascii("topic")), Map.entry("payload", ascii("payload")),
            Map.entry("payloadEncoding", ascii("payloadEncoding")), Map.entry("qos", ascii("qos")),
            Map.entry("retain", ascii("retain")), Map.entry("properties", ascii("properties")),
            Map.entry("time", ascii("time")), Map.entry("datetime", ascii("datetime")));

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Numbers, booleans, ids: ASCII (Latin-1 encoding is a plain copy). */
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The records XADD refused as not above the stream's top: written before only if their entry is there. */
    private void verifyPresent(List<SinkRecord> records, Settings s) {
        List<Response<List<StreamEntry>>> answers = new ArrayList<>(records.size());
        try (AbstractPipeline p = client.pipelined()) {
            for (SinkRecord r : records) {
                StreamEntryID id = entryId(r.sequence());
                answers.add(p.xrange(s.keyPrefix() + r.message().topic(), id, id, 1));
            }
            p.sync();
        }
        for (int i = 0; i < records.size(); i++) {
            SinkRecord r = records.get(i);
            String key = s.keyPrefix() + r.message().topic();
            List<StreamEntry> found = answers.get(i).get();
            if (found.isEmpty()) {
                throw new IllegalStateException("XADD " + key + " " + entryId(r.sequence()) + " (record " + r.id()
                        + "): the stream's top id is higher but the entry is not there; a stream takes only"
                        + " increasing ids (was it trimmed, or written from another journal?)");
            }
            String written = found.get(0).getFields().get("id");
            if (s.format().has(RecordFormat.Field.ID) && written != null && !written.equals(r.id())) {
                throw new IllegalStateException("XADD " + key + " " + entryId(r.sequence()) + ": the entry holds record "
                        + written + ", not " + r.id() + " (written from another journal?)");
            }
        }
    }

    // ---- list ----

    /**
     * The high-water mark of a list: {@code <key>:seq}; in a cluster {@code {<key>}:seq} so that it hashes to the
     * list's slot (the script touches both), unless the key has a hash tag of its own, which {@code <key>:seq} keeps.
     */
    static String seqKey(String listKey, boolean cluster) {
        if (!cluster || hasHashTag(listKey)) {
            return listKey + ":seq";
        }
        return "{" + listKey + "}:seq";
    }

    private static boolean hasHashTag(String key) {
        int open = key.indexOf('{');
        if (open < 0) {
            return false;
        }
        int close = key.indexOf('}', open + 1);
        return close > open + 1;
    }

    private void writeList(List<SinkRecord> batch, Settings s) {
        Map<String, List<String>> perKey = new LinkedHashMap<>();
        for (SinkRecord r : batch) {
            List<String> args = perKey.computeIfAbsent(s.keyPrefix() + r.message().topic(), k -> new ArrayList<>());
            args.add(Long.toString(r.sequence()));
            args.add(s.format().toJson(r));
        }
        Map<String, Response<Object>> answers = new LinkedHashMap<>();
        boolean cluster = endpoint.cluster();
        try (AbstractPipeline p = client.pipelined()) {
            for (Map.Entry<String, List<String>> e : perKey.entrySet()) {
                answers.put(e.getKey(), p.eval(LIST_PUSH_SCRIPT, List.of(e.getKey(), seqKey(e.getKey(), cluster)),
                        e.getValue()));
            }
            p.sync();
        }
        for (Map.Entry<String, Response<Object>> e : answers.entrySet()) {
            try {
                Objects.requireNonNull(e.getValue().get());
            } catch (JedisDataException ex) {
                throw failed("EVAL (RPUSH)", e.getKey(), ex);
            }
        }
    }

    // ---- key ----

    /** {@code <key.prefix><clientId>_<unixtime>_<sequence>}; a message of the broker itself has an empty client id. */
    static String messageKey(String prefix, SinkRecord r) {
        String clientId = r.message().publisherId() == null ? "" : r.message().publisherId();
        return prefix + clientId + "_" + Math.floorDiv(r.message().timestamp(), 1000L) + "_" + r.sequence();
    }

    private void writeKeys(List<SinkRecord> batch, Settings s) {
        List<Response<String>> answers = new ArrayList<>(batch.size());
        List<String> keys = new ArrayList<>(batch.size());
        SetParams params = s.ttlSeconds() > 0 ? SetParams.setParams().ex(s.ttlSeconds()) : null;
        try (AbstractPipeline p = client.pipelined()) {
            for (SinkRecord r : batch) {
                String key = messageKey(s.keyPrefix(), r);
                keys.add(key);
                String json = s.format().toJson(r);
                answers.add(params == null ? p.set(key, json) : p.set(key, json, params));
            }
            p.sync();
        }
        for (int i = 0; i < answers.size(); i++) {
            try {
                answers.get(i).get();
            } catch (JedisDataException e) {
                throw failed("SET", keys.get(i), e);
            }
        }
    }

    private static IllegalStateException failed(String command, String key, JedisDataException e) {
        return new IllegalStateException(command + " " + key + ": " + e.getMessage(), e);
    }

    /** Closes the client and its connection pools. */
    @Override
    public void close() {
        client.close();
    }
}
