package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import io.brokkr.api.SinkInfo;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Each storage connector installed into the running broker with {@code feature:install} and a factory cfg, a real
 * client publishing, and the records found in the store by a program that is not Brokkr: a throw-away PostgreSQL 15
 * cluster (Debian's {@code initdb}/{@code pg_ctl}, as the user {@code postgres} when we are root, read with
 * {@code psql}) and a MongoDB wire-protocol server (de.bwaldvogel mongo-java-server, memory backend: no real mongod
 * can be installed here) run as a separate JVM from {@code src/test/mongo/MongoServerMain.java}, which also answers
 * the test's queries through the MongoDB driver. Then the Redis connector is swapped for the MongoDB one while a
 * client publishes at QoS 1: every acknowledged message ends up in one of the stores, none twice in a store.
 * Every server is started by the test from inside Karaf.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConnectorStoresIT extends BrokerTestSupport {

    static final String LISTENER = "itest-stores";
    static final String JDBC_PID = "io.brokkr.connector.jdbc";
    static final String MONGO_PID = "io.brokkr.connector.mongodb";
    static final String REDIS_PID = "io.brokkr.connector.redis";
    static final String PG_USER = "brokkr";
    static final String PG_PASSWORD = "brokkr-it-pw";

    private int port;
    /** What the test started, stopped in reverse order after it. */
    private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();

    /**
     * Runs on the host (working directory itests/): hands Karaf the MongoDB server's classpath (jars in the local
     * Maven repository, from maven-dependency-plugin's build-classpath) and the path of its source file.
     */
    @Override
    protected Option[] extraOptions() {
        String cp = System.getProperty("brokkr.mongo.classpath");
        if (cp == null || cp.isBlank()) {
            throw new IllegalStateException("system property brokkr.mongo.classpath not set (itests/pom.xml sets it)");
        }
        File launcher = new File("src/test/mongo/MongoServerMain.java").getAbsoluteFile();
        if (!launcher.isFile()) {
            throw new IllegalStateException("MongoDB server launcher not found: " + launcher);
        }
        return new Option[] {
            editConfigurationFilePut("etc/system.properties", "brokkr.mongo.classpath", cp),
            editConfigurationFilePut("etc/system.properties", "brokkr.mongo.launcher", launcher.toString())};
    }

    @Before
    public void listener() throws Exception {
        port = openListener(LISTENER);
    }

    @After
    public void stop() throws Exception {
        closeListener(LISTENER);
        while (!cleanup.isEmpty()) {
            try {
                cleanup.pop().close();
            } catch (Exception e) {
                System.err.println("cleanup: " + e);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ tools


    /** Runs a command to its end (at most 60 s) and returns its output (stdout and stderr); fails on exit != 0. */
    private static String run(List<String> command, Map<String, String> env, File dir) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        if (dir != null) {
            pb.directory(dir);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // before waiting: a full
        if (!p.waitFor(60, TimeUnit.SECONDS)) {                                            // pipe would block it
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish; output: " + out);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed with " + p.exitValue() + ": " + out);
        }
        return out;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private Optional<SinkInfo> sink(String name) {
        return broker().sinks().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    private void awaitState(String name, String state) {
        await("sink " + name + " " + state, () -> sink(name).map(s -> s.state().equals(state)).orElse(false));
    }

    private void putFactoryConfig(String factoryPid, String name, Map<String, String> props) throws IOException {
        Dictionary<String, Object> d = new Hashtable<>(props);
        configurationAdmin.getFactoryConfiguration(factoryPid, name, "?").update(d);
    }

    /**
     * Writes the factory cfg of connector sink {@code factoryPid~name} and, after the test (also a failed one, which
     * KarafTestSupport runs again in the same Karaf), uninstalls the connector's feature, forgets the sink
     * ({@code mqtt:connector-remove}) and deletes the cfg.
     */
    private void putConnector(String feature, String factoryPid, String name, Map<String, String> props)
            throws Exception {
        putFactoryConfig(factoryPid, name, props);
        cleanup.push(() -> {
            String sink = factoryPid + "~" + name;
            if (featureService.isInstalled(featureService.getFeature(feature))) {
                featureService.uninstallFeature(feature);
            }
            if (sink(sink).isPresent()) {
                awaitState(sink, "offline");
                executeCommand("mqtt:connector-remove " + sink, 10_000L, true);
                await("sink " + sink + " forgotten", () -> sink(sink).isEmpty());
            }
            configurationAdmin.getFactoryConfiguration(factoryPid, name, "?").delete();
        });
    }

    private void publish(String clientId, String topic, String... payloads) throws Exception {
        MqttClient c = connect(clientId, port);
        try {
            for (String p : payloads) {
                c.publish(topic, p.getBytes(StandardCharsets.UTF_8), 1, false); // returns on PUBACK
            }
        } finally {
            closeQuietly(c);
        }
    }

    // ------------------------------------------------------------------------------------------------ PostgreSQL

    /**
     * A throw-away PostgreSQL cluster, as connectors/jdbc's tests make it: {@code initdb} in a temp directory with a
     * superuser {@link #PG_USER} and a scram-sha-256 password, {@code pg_ctl start} on a free loopback port; as root
     * every command runs as the user {@code postgres}, since PostgreSQL refuses to run as root.
     */
    private final class Postgres implements AutoCloseable {
        final Path bin;
        final Path dir;
        final Path data;
        final int pgPort;
        final boolean root = "root".equals(System.getProperty("user.name"));

        Postgres() throws Exception {
            bin = findBin();
            dir = Files.createTempDirectory("brokkr-it-pg");
            data = dir.resolve("data");
            pgPort = freePort();
            try {
                Path pw = dir.resolve("pw");
                Files.writeString(pw, PG_PASSWORD + "\n");
                if (root) {
                    UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService()
                            .lookupPrincipalByName("postgres");
                    Files.setOwner(dir, postgres);
                    Files.setOwner(pw, postgres);
                }
                pg("initdb", "-D", data.toString(), "-U", PG_USER, "--pwfile=" + pw, "-A", "scram-sha-256", "-E",
                        "UTF8", "--locale=C", "--no-sync", "--no-instructions");
                Files.delete(pw);
                pg("pg_ctl", "-D", data.toString(), "-l", dir.resolve("server.log").toString(), "-w", "-t", "60",
                        "-o", "-c listen_addresses=127.0.0.1 -p " + pgPort + " -k " + dir + " -c fsync=off", "start");
            } catch (Exception | Error e) {
                deleteTree(dir);
                throw e;
            }
        }

        private Path findBin() throws IOException {
            Path base = Path.of("/usr/lib/postgresql");
            if (Files.isDirectory(base)) {
                try (Stream<Path> versions = Files.list(base)) {
                    Optional<Path> b = versions.map(v -> v.resolve("bin"))
                            .filter(d -> Files.isExecutable(d.resolve("initdb")))
                            .max(Comparator.comparing(d -> d.getParent().getFileName().toString()));
                    if (b.isPresent()) {
                        return b.get();
                    }
                }
            }
            fail("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install the Debian package "
                    + "postgresql (./test.sh does)");
            return null;
        }

        private void pg(String command, String... args) throws Exception {
            List<String> c = new ArrayList<>();
            if (root) {
                c.addAll(List.of(tool("runuser", "util-linux"), "-u", "postgres", "--"));
            }
            c.add(bin.resolve(command).toString());
            c.addAll(List.of(args));
            run(c, Map.of(), dir.toFile());
        }

        String jdbcUrl() {
            return "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres";
        }

        /** The rows of a query, as psql prints them unaligned ({@code |} between columns). */
        List<String> query(String sql) throws Exception {
            String out = run(List.of(bin.resolve("psql").toString(), "-h", "127.0.0.1", "-p", String.valueOf(pgPort),
                    "-U", PG_USER, "-d", "postgres", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql),
                    Map.of("PGPASSWORD", PG_PASSWORD), null);
            return out.isBlank() ? List.of() : List.of(out.strip().split("\n"));
        }

        @Override
        public void close() throws Exception {
            try {
                pg("pg_ctl", "-D", data.toString(), "-m", "immediate", "-w", "stop");
            } finally {
                deleteTree(dir);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ MongoDB

    /** One MongoDB server for the class (a JVM start is slow on a busy machine); it ends with Karaf. */
    private static Mongo mongo;

    private static synchronized Mongo mongo() throws Exception {
        if (mongo == null || !mongo.process.isAlive()) {
            mongo = new Mongo();
        }
        return mongo;
    }

    /**
     * The MongoDB server process ({@code src/test/mongo/MongoServerMain.java}, run by the JDK's source launcher with
     * Karaf's own {@code java}). Its documents are read through it: {@code find DB COLL} on its stdin. It ends when
     * its stdin closes: with the Karaf JVM.
     */
    private static final class Mongo {
        final int mongoPort;
        final Process process;
        final Path log;
        final BufferedReader out;
        final Writer in;

        Mongo() throws Exception {
            mongoPort = freePort();
            log = Files.createTempFile("brokkr-it-mongo", ".log");
            log.toFile().deleteOnExit();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            process = new ProcessBuilder(java, "-cp", System.getProperty("brokkr.mongo.classpath"),
                    System.getProperty("brokkr.mongo.launcher"), String.valueOf(mongoPort))
                    .redirectError(log.toFile()).start();
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            String first = readLine(60_000); // compiling the launcher and starting a JVM, on a busy machine
            assertEquals("MongoDB server's first line; log:\n" + Files.readString(log), "listening", first);
        }

        String uri() {
            return "mongodb://127.0.0.1:" + mongoPort;
        }

        /** The next line of the process's output, failing if none comes within the time or the process ended. */
        private String readLine(long timeoutMs) throws Exception {
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (!out.ready()) {
                if (!process.isAlive()) {
                    String rest = out.readLine(); // a last line written before it ended
                    if (rest != null) {
                        return rest;
                    }
                    fail("MongoDB server process ended (" + process.exitValue() + "); log:\n" + Files.readString(log));
                }
                if (System.currentTimeMillis() > deadline) {
                    fail("no answer from the MongoDB server process within " + timeoutMs + " ms; log:\n"
                            + Files.readString(log));
                }
                Thread.sleep(10);
            }
            return out.readLine();
        }

        /** Every document of the collection, as the driver's JSON. */
        synchronized List<String> find(String database, String collection) throws Exception {
            in.write("find " + database + " " + collection + "\n");
            in.flush();
            List<String> docs = new ArrayList<>();
            for (String line; !(line = readLine(20_000)).equals("."); ) {
                if (line.startsWith("error:")) {
                    fail(line);
                }
                docs.add(line);
            }
            return docs;
        }
    }

    // ------------------------------------------------------------------------------------------------ Redis

    private final class Redis implements AutoCloseable {
        final int redisPort;
        final Path dir;
        final Process process;

        Redis() throws Exception {
            redisPort = freePort();
            dir = Files.createTempDirectory("brokkr-it-redis");
            process = new ProcessBuilder(tool("redis-server", "redis-server"), "--port", String.valueOf(redisPort),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
            await("redis-server answers PING", () -> {
                try {
                    return cli("PING").trim().equals("PONG");
                } catch (Exception e) {
                    return false;
                }
            });
        }

        String cli(String... args) throws Exception {
            List<String> c = new ArrayList<>(List.of(tool("redis-cli", "redis-tools"), "-p",
                    String.valueOf(redisPort), "--raw"));
            c.addAll(List.of(args));
            return run(c, Map.of(), null);
        }

        /** The payloads in the stream of a topic, in stream order (the sink writes only the payload field). */
        List<String> streamPayloads(String topic) throws Exception {
            String[] lines = cli("XRANGE", "mqtt:" + topic, "-", "+").split("\n");
            List<String> payloads = new ArrayList<>();
            for (int i = 0; i < lines.length - 1; i++) {
                if (lines[i].equals("payload")) {
                    payloads.add(lines[++i]);
                }
            }
            return payloads;
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor(10, TimeUnit.SECONDS);
            deleteTree(dir);
        }
    }

    // ------------------------------------------------------------------------------------------------ load

    /**
     * Publishes QoS 1 messages {@code m0, m1, ...} on one topic from one connection until stopped. A message whose
     * publish returned was acknowledged. {@link #current} is the number of the message being published: a message
     * with a higher number is sent after {@code current} was read.
     */
    private final class Load implements Runnable {
        final String topic;
        final AtomicBoolean run = new AtomicBoolean(true);
        final Set<String> acked = ConcurrentHashMap.newKeySet();
        final Set<String> uncertain = ConcurrentHashMap.newKeySet();
        volatile int current = -1;
        volatile Throwable failure;
        final Thread thread = new Thread(this, "it-load");

        Load(String topic) {
            this.topic = topic;
        }

        @Override
        public void run() {
            MqttClient c = null;
            int i = 0;
            try {
                c = client("it-swap-loader", port);
                MqttConnectOptions o = options();
                o.setMaxInflight(1000);
                c.connect(o);
                while (run.get()) {
                    current = i;
                    String m = "m" + i;
                    try {
                        c.publish(topic, m.getBytes(StandardCharsets.UTF_8), 1, false);
                        acked.add(m);
                        i++;
                    } catch (MqttException e) {
                        if (e.getReasonCode() != MqttException.REASON_CODE_MAX_INFLIGHT) {
                            uncertain.add(m);
                            throw e;
                        }
                        // refused by Paho before sending: its callback thread has not counted the last PUBACKs
                        // yet (a synchronous publish returns before that); the same message again
                        Thread.sleep(1);
                    }
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                closeQuietly(c);
            }
        }

        void awaitMore(int n) {
            int target = acked.size() + n;
            await(n + " more messages acknowledged", () -> {
                if (failure != null) {
                    throw new AssertionError("load failed", failure);
                }
                return acked.size() >= target;
            });
        }

        void stop() throws InterruptedException {
            run.set(false);
            thread.join(30_000);
            if (failure != null) {
                throw new AssertionError("load failed", failure);
            }
        }
    }

    private static final Pattern PAYLOAD = Pattern.compile("\"payload\": \"([^\"]*)\"");

    /** The payload field of each document, with {@code fields = payload} and the text format. */
    private static List<String> payloads(List<String> docs) {
        List<String> out = new ArrayList<>();
        for (String d : docs) {
            Matcher m = PAYLOAD.matcher(d);
            assertTrue("a document without a text payload: " + d, m.find());
            out.add(m.group(1));
        }
        return out;
    }

    private static List<String> duplicates(List<String> values) {
        Map<String, Integer> copies = new HashMap<>();
        for (String v : values) {
            copies.merge(v, 1, Integer::sum);
        }
        return copies.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).sorted().toList();
    }

    // ------------------------------------------------------------------------------------------------ tests

    @Test
    public void jdbcConnectorWritesRowsIntoPostgres() throws Exception {
        Postgres pg = new Postgres();
        cleanup.push(pg);
        putConnector("brokkr-connector-jdbc-core", JDBC_PID, "it", Map.of("url", pg.jdbcUrl(), "user", PG_USER,
                "password", PG_PASSWORD, "table", "it_messages", "format", "json", "topics", "plant/#"));
        ensureFeature("brokkr-connector-jdbc-core");
        String sink = JDBC_PID + "~it";
        awaitState(sink, "running");

        publish("it-jdbc-pub", "plant/1/temp", "{\"temp\": 20.5}", "{\"temp\": 21.5}", "not json");
        publish("it-jdbc-other", "elsewhere/1", "not for the sink");

        String sql = "select sender, topic, qos, retain, payload->>'temp', jsonb_typeof(payload), payload_encoding "
                + "from it_messages order by sequence";
        await("3 rows in it_messages", () -> {
            try {
                return pg.query("select count(*) from it_messages").equals(List.of("3"));
            } catch (Exception e) {
                return false; // no table before the first write
            }
        });
        assertEquals(List.of(
                "it-jdbc-pub|plant/1/temp|1|f|20.5|object|",
                "it-jdbc-pub|plant/1/temp|1|f|21.5|object|",
                "it-jdbc-pub|plant/1/temp|1|f||string|text"), pg.query(sql)); // not JSON: a JSON string
        List<String> ids = pg.query("select id from it_messages order by sequence");
        assertEquals("distinct record ids " + ids, 3, new HashSet<>(ids).size());
        for (String id : ids) {
            assertTrue("record id <journal id>-<sequence>: " + id, id.matches(".+-\\d+"));
        }
        assertTrue(executeCommand("mqtt:connectors", 10_000L, true).contains(sink));
    }

    @Test
    public void mongodbConnectorWritesDocuments() throws Exception {
        Mongo mongo = mongo();
        putConnector("brokkr-connector-mongodb-core", MONGO_PID, "it", Map.of("uri", mongo.uri(), "database", "it",
                "collection", "plant", "format", "json", "topics", "plant/#"));
        ensureFeature("brokkr-connector-mongodb-core");
        String sink = MONGO_PID + "~it";
        awaitState(sink, "running");

        publish("it-mongo-pub", "plant/2/temp", "{\"temp\": 20.5}", "{\"temp\": 21.5}");
        publish("it-mongo-other", "elsewhere/2", "not for the sink");

        await("2 documents in it.plant", () -> {
            try {
                return mongo.find("it", "plant").size() == 2;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        List<String> docs = mongo.find("it", "plant");
        Set<String> temps = new HashSet<>();
        Set<String> ids = new HashSet<>();
        for (String d : docs) {
            for (String part : List.of("\"sender\": \"it-mongo-pub\"", "\"topic\": \"plant/2/temp\"", "\"qos\": 1",
                    "\"retain\": false", "\"datetime\": {\"$date\"")) {
                assertTrue(part + " in " + d, d.contains(part));
            }
            Matcher t = Pattern.compile("\"payload\": \\{\"temp\": ([0-9.]+)}").matcher(d);
            assertTrue("the JSON payload as a sub-document: " + d, t.find());
            temps.add(t.group(1));
            Matcher id = Pattern.compile("\"_id\": \"([^\"]+-\\d+)\"").matcher(d);
            assertTrue("_id is the record id: " + d, id.find());
            ids.add(id.group(1));
        }
        assertEquals(Set.of("20.5", "21.5"), temps);
        assertEquals(2, ids.size());
    }

    /**
     * The Redis connector swapped for the MongoDB one while a client publishes at QoS 1: the MongoDB sink is
     * installed for the same topics while the Redis sink lags behind (paused with {@code mqtt:connector-stop}, then
     * started again), the Redis sink is let catch up past the record where the MongoDB sink started (its backlog,
     * read after the MongoDB sink's, no larger), then uninstalled and forgotten.
     */
    @Test
    public void swappingRedisForMongodbMidLoadKeepsEveryAcknowledgedMessage() throws Exception {
        Redis redis = new Redis();
        cleanup.push(redis);
        Mongo mongo = mongo();
        String redisSink = REDIS_PID + "~swap";
        String mongoSink = MONGO_PID + "~swap";

        putConnector("brokkr-connector-redis-core", REDIS_PID, "swap", Map.of("host", "127.0.0.1",
                "port", String.valueOf(redis.redisPort), "topics", "swap/#", "layout", "stream", "fields", "payload"));
        ensureFeature("brokkr-connector-redis-core");
        awaitState(redisSink, "running");

        Load load = new Load("swap/load");
        load.thread.start();
        load.awaitMore(200);
        // the old sink behind (as a slow store would be): paused until the new one writes
        executeCommand("mqtt:connector-stop " + redisSink, 10_000L, true);
        awaitState(redisSink, "stopped");
        load.awaitMore(200);

        // the new connector, same topics: it gets the messages from its registration on
        putConnector("brokkr-connector-mongodb-core", MONGO_PID, "swap", Map.of("uri", mongo.uri(), "database", "it",
                "collection", "swap", "fields", "payload", "topics", "swap/#"));
        ensureFeature("brokkr-connector-mongodb-core");
        await("sink " + mongoSink + " registered", () -> sink(mongoSink).isPresent());
        int boundary = load.current; // every later message is published after the MongoDB sink registered
        awaitState(mongoSink, "running");
        await("MongoDB sink writing", () -> sink(mongoSink).map(s -> s.written() > 0).orElse(false));
        load.awaitMore(200);

        // the old sink resumed and past the record where the new one started: both read the same journal, so a
        // backlog no larger than the new sink's, read before it, means a position no earlier
        executeCommand("mqtt:connector-start " + redisSink, 10_000L, true);
        await(redisSink + " caught up past where " + mongoSink + " started", () -> {
            long newBacklog = sink(mongoSink).orElseThrow().pendingRecords();
            long oldBacklog = sink(redisSink).orElseThrow().pendingRecords();
            return oldBacklog <= newBacklog;
        });
        featureService.uninstallFeature("brokkr-connector-redis-core");
        awaitState(redisSink, "offline");
        executeCommand("mqtt:connector-remove " + redisSink, 10_000L, true);
        await("sink " + redisSink + " forgotten", () -> sink(redisSink).isEmpty());
        load.awaitMore(200);
        load.stop();

        Set<String> acked = new HashSet<>(load.acked);
        await("every acknowledged message in Redis or MongoDB", () -> {
            try {
                Set<String> stored = new HashSet<>(redis.streamPayloads("swap/load"));
                stored.addAll(payloads(mongo.find("it", "swap")));
                return stored.containsAll(acked);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        List<String> inRedis = redis.streamPayloads("swap/load");
        List<String> inMongo = payloads(mongo.find("it", "swap"));
        assertEquals("records twice in Redis", List.of(), duplicates(inRedis));
        assertEquals("records twice in MongoDB", List.of(), duplicates(inMongo));
        Set<String> mongoSet = new HashSet<>(inMongo);
        List<String> missing = acked.stream().filter(m -> Integer.parseInt(m.substring(1)) > boundary)
                .filter(m -> !mongoSet.contains(m)).sorted().toList();
        assertEquals("acknowledged after the MongoDB sink registered (after m" + boundary + ") but not in MongoDB",
                List.of(), missing);
        Set<String> unknown = new HashSet<>(inRedis);
        unknown.addAll(inMongo);
        unknown.removeAll(acked);
        unknown.removeAll(load.uncertain);
        assertEquals("records nobody published", Set.of(), unknown);
        Set<String> both = new HashSet<>(inRedis);
        both.retainAll(mongoSet);
        System.out.println("swap: " + acked.size() + " acknowledged, " + inRedis.size() + " in Redis, "
                + inMongo.size() + " in MongoDB, " + both.size() + " in both, MongoDB from m" + (boundary + 1));
        assertTrue("acknowledged: " + acked.size(), acked.size() >= 700);
    }
}
