package io.brokkr.connector.redis;

import static io.brokkr.connector.redis.Records.batch;
import static io.brokkr.connector.redis.Records.config;
import static io.brokkr.connector.redis.RedisSinkTest.failure;
import static io.brokkr.connector.redis.RedisSinkTest.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.resps.StreamEntry;
import redis.clients.jedis.util.JedisClusterCRC16;

/**
 * The connector against a Redis Cluster of 3 masters on loopback (ports chosen free at test time, cluster bus on
 * port + 10000), made with redis-cli --cluster create.
 */
class RedisClusterSinkTest {

    static final String[] TOPICS = new String[24];

    static {
        for (int i = 0; i < TOPICS.length; i++) {
            TOPICS[i] = "c/" + i;
        }
    }

    @TempDir
    static Path tmp;
    static final List<RedisServer> nodes = new ArrayList<>();

    RedisSink sink;

    @BeforeAll
    static void startCluster() throws Exception {
        RedisServer.assumeInstalled();
        org.junit.jupiter.api.Assumptions.assumeTrue(RedisServer.onPath("redis-cli"),
                "redis-cli is not installed (package redis-tools): skipped");
        List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
        for (int i = 0; i < 3; i++) {
            int port = RedisServer.freePort(true);
            nodes.add(new RedisServer(tmp.resolve("node" + i), port, "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "3000").start());
            create.add("127.0.0.1:" + port);
        }
        create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        Process p = new ProcessBuilder(create).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("create.log").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0,
                java.nio.file.Files.readString(tmp.resolve("create.log")));
        awaitClusterOk();
    }

    static void awaitClusterOk() throws InterruptedException {
        RedisSinkTest.waitFor(() -> {
            for (RedisServer n : nodes) {
                try (Jedis c = new Jedis("127.0.0.1", n.port)) {
                    if (!c.clusterInfo().contains("cluster_state:ok")) {
                        return false;
                    }
                } catch (RuntimeException down) {
                    return false;
                }
            }
            return true;
        }, "cluster_state:ok on every node");
    }

    @AfterAll
    static void stopCluster() throws Exception {
        for (RedisServer n : nodes) {
            n.stop();
        }
    }

    @BeforeEach
    void clean() {
        try (RedisClusterClient c = client()) {
            for (ConnectionPool pool : c.getClusterNodes().values()) {
                try (redis.clients.jedis.Connection conn = pool.getResource()) {
                    conn.executeCommand(redis.clients.jedis.Protocol.Command.FLUSHALL);
                }
            }
        }
        sink = new RedisSink();
    }

    @AfterEach
    void close() {
        sink.deactivate();
    }

    static RedisClusterClient client() {
        Set<HostAndPort> seeds = new HashSet<>();
        for (RedisServer n : nodes) {
            seeds.add(new HostAndPort("127.0.0.1", n.port));
        }
        return RedisClusterClient.create(seeds);
    }

    void activate(Object... keyValues) {
        List<Object> kv = new ArrayList<>(List.of("nodes", "127.0.0.1:" + nodes.get(0).port + ", 127.0.0.1:"
                + nodes.get(1).port, "timeout.ms", 2000));
        kv.addAll(List.of(keyValues));
        sink.activate(config(kv.toArray()));
    }

    @Test
    void theTopicsSpreadOverEveryMaster() {
        Set<Integer> owners = new HashSet<>();
        for (String t : TOPICS) {
            int slot = JedisClusterCRC16.getSlot("mqtt:" + t);
            for (RedisServer n : nodes) {
                try (Jedis node = new Jedis("127.0.0.1", n.port)) {
                    if (ownsSlot(node, slot)) {
                        owners.add(n.port);
                    }
                }
            }
        }
        assertEquals(3, owners.size(), "the test's topics hash to every master");
    }

    static boolean ownsSlot(Jedis node, int slot) {
        String myself = node.clusterMyId();
        for (Object o : node.clusterSlots()) {
            List<?> range = (List<?>) o;
            long from = (Long) range.get(0);
            long to = (Long) range.get(1);
            List<?> master = (List<?>) range.get(2);
            if (slot >= from && slot <= to && master.size() > 2
                    && myself.equals(new String((byte[]) master.get(2), java.nio.charset.StandardCharsets.UTF_8))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void everyLayoutLeavesOneCopyPerRecordAfterOverlappingBatchesWrittenTwice() throws Exception {
        for (String layout : List.of("stream", "list", "key")) {
            clean();
            activate("layout", layout);
            for (int round = 0; round < 2; round++) {
                write(sink, batch(1, 600, TOPICS));
                write(sink, batch(401, 1000, TOPICS));
            }
            try (RedisClusterClient c = client()) {
                for (int t = 0; t < TOPICS.length; t++) {
                    List<Long> expected = new ArrayList<>();
                    for (long s = 1; s <= 1000; s++) {
                        if (s % TOPICS.length == t) {
                            expected.add(s);
                        }
                    }
                    assertEquals(expected, sequences(c, layout, TOPICS[t]), layout + " " + TOPICS[t]);
                }
                if (layout.equals("list")) {
                    assertEquals("1000", c.get("{mqtt:c/16}:seq"), "the high-water mark in the list's slot");
                }
            }
            sink.deactivate();
        }
    }

    static List<Long> sequences(RedisClusterClient c, String layout, String topic) {
        return switch (layout) {
            case "stream" -> c.xrange("mqtt:" + topic, "-", "+").stream()
                    .map(StreamEntry::getFields).map(f -> seq(f.get("id"))).toList();
            case "list" -> c.lrange("mqtt:" + topic, 0, -1).stream()
                    .map(json -> seq((String) ((Map<?, ?>) RecordFormat.parseJson(json)).get("id"))).toList();
            default -> {
                TreeSet<Long> seqs = new TreeSet<>();
                for (long s = 1; s <= 1000; s++) {
                    String json = c.get("mqtt:client-1_1795996741_" + s);
                    if (json != null && topic.equals(((Map<?, ?>) RecordFormat.parseJson(json)).get("topic"))) {
                        seqs.add(s);
                    }
                }
                yield new ArrayList<>(seqs);
            }
        };
    }

    static long seq(String recordId) {
        return Long.parseLong(recordId.substring(3));
    }

    @Test
    void aMasterStoppedFailsTheWriteWithinTheTimeoutAndTheSameBatchSucceedsAfterItsRestart() throws Exception {
        activate();
        write(sink, batch(1, 100, TOPICS));
        RedisServer stopped = nodes.get(2);
        stopped.stop();
        List<SinkRecord> overlapping = batch(51, 200, TOPICS);
        long start = System.nanoTime();
        Throwable t = failure(sink, overlapping);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(ms < 10_000, "failed after " + ms + " ms: " + t.getMessage());
        assertTrue(t.getMessage().startsWith("redis cluster 127.0.0.1:"), t.getMessage());
        System.out.println("with a master down: " + t.getMessage());

        stopped.start();
        awaitClusterOk();
        write(sink, overlapping);
        try (RedisClusterClient c = client()) {
            long total = 0;
            for (String topic : TOPICS) {
                total += c.xlen("mqtt:" + topic);
            }
            assertEquals(200, total, "one entry per record 1-200");
        }
    }

    @Test
    void deactivateClosesTheConnectionsToEveryNodeAndLeavesNoThread() throws Exception {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        activate("layout", "list");
        write(sink, batch(1, 300, TOPICS));
        assertEquals(3, nodesWithSinkConnections(), "connected to every master");
        sink.deactivate();
        RedisSinkTest.waitFor(() -> nodesWithSinkConnections() == 0, "connections closed on every node");
        RedisSinkTest.waitFor(() -> before.containsAll(Thread.getAllStackTraces().keySet()), "no thread of the sink left");
    }

    static int nodesWithSinkConnections() {
        int n = 0;
        for (RedisServer node : nodes) {
            try (Jedis c = new Jedis("127.0.0.1", node.port)) {
                if (c.clientList().contains("name=brokkr:io.brokkr.connector.redis~test ")) {
                    n++;
                }
            }
        }
        return n;
    }

    @Test
    void noSeedNodeAnsweringFailsWithTheNodes() throws IOException {
        int nobody = RedisServer.freePort(false);
        sink.activate(config("nodes", "127.0.0.1:" + nobody, "timeout.ms", 1000));
        Throwable t = failure(sink, batch(1, 1, TOPICS));
        assertTrue(t.getMessage().startsWith("redis cluster 127.0.0.1:" + nobody + ": "), t.getMessage());
        System.out.println("no seed node: " + t.getMessage());
    }
}
