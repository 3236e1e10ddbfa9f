package io.brokkr.bench;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.persistence.SinkHub;
import io.brokkr.broker.transport.Listener;
import io.brokkr.connector.elasticsearch.ElasticsearchSink;
import io.brokkr.connector.redis.RedisSink;
import io.brokkr.journal.Journal;
import io.brokkr.journal.JournalStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs the plain-Java {@link Broker} engine with one TCP listener (and optionally a TLS one), without Karaf, for
 * benchmarks.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.BrokerMain [--host 127.0.0.1] [--port 1883]
 *     [--sink-redis HOST:PORT | --sink-elasticsearch URL | --sink-null] [--stats-file PATH]
 *     [--tls-port P --tls-option KEY=VALUE ...] [sink.KEY=VALUE ...] [key=value ...]
 * </pre>
 *
 * {@code key=value} arguments are broker cfg keys (those of {@code etc/io.brokkr.broker.cfg}, see
 * {@link BrokerConfig#fromProperties}), e.g. {@code max.queued.messages=1000000 io.threads=2}. Prints
 * {@code BROKKR READY port=<port> pid=<pid>} once the listener is bound; stops on SIGTERM/SIGINT.
 * <p>
 * {@code --sink-redis HOST:PORT} binds the Redis connector ({@link RedisSink}, created and activated as DS would, then
 * {@link Broker#bindSink}) as the sink {@value #SINK_NAME}, with {@code topics=bench/#} and the connector's defaults;
 * {@code sink.KEY=VALUE} arguments add or override its properties (e.g. {@code sink.batch.size=2000},
 * {@code sink.layout=list}). {@code --sink-elasticsearch URL} binds the Elasticsearch connector
 * ({@link ElasticsearchSink}) the same way as the sink {@value #ES_SINK_NAME}, with {@code topics=bench/#}, the fixed
 * index {@value #ES_INDEX} and the connector's defaults otherwise ({@code sink.KEY=VALUE} as for Redis).
 * The journal goes to {@code journal.dir} ({@code data/journal} if not given).
 * {@code --tls-port P} opens a second listener, of type {@code tls}, on port P; each {@code --tls-option KEY=VALUE}
 * is one of its cfg keys ({@code --tls-option cert.file=server.pem --tls-option key.file=server.key}, see
 * {@code TlsSupport}).
 * {@code --stats-file PATH} replaces PATH every 200 ms with one line of the journal's and the sink's counters
 * ({@link #statsLine}), for {@link SinkBench} to read at the start and end of its measured period.
 * <p>
 * Like the Karaf distribution (its {@code bin/setenv}), it sets {@code io.netty.allocator.maxOrder=7} unless given:
 * 1 MiB chunks in Netty's buffer pools instead of 4 MiB. The JVM options of {@code bin/setenv} (native heap
 * trimming, heap free ratios, periodic GC) go on the java command line: see {@code benchmarks/run.sh}.
 */
public final class BrokerMain {

    static final String SINK_NAME = "bench-redis";
    static final String ES_SINK_NAME = "bench-elasticsearch";
    /** The index of {@code --sink-elasticsearch} (one fixed index: a run across midnight UTC stays in one). */
    static final String ES_INDEX = "brokkr-bench";

    private BrokerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (System.getProperty("io.netty.allocator.maxOrder") == null) {
            System.setProperty("io.netty.allocator.maxOrder", "7"); // before any Netty class reads it
        }
        String host = "127.0.0.1";
        int port = 1883;
        Map<String, String> cfg = new HashMap<>();
        Map<String, Object> sinkProps = new HashMap<>();
        Map<String, String> tlsOptions = new HashMap<>();
        int tlsPort = -1;
        String redis = null;
        String elasticsearch = null;
        Path statsFile = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--sink-redis" -> redis = args[++i];
                case "--sink-null" -> redis = "null";
                case "--sink-elasticsearch" -> elasticsearch = args[++i];
                case "--stats-file" -> statsFile = Path.of(args[++i]);
                case "--tls-port" -> tlsPort = Integer.parseInt(args[++i]);
                case "--tls-option" -> {
                    String kv = args[++i];
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        System.err.println("--tls-option needs KEY=VALUE: " + kv);
                        System.exit(2);
                    }
                    tlsOptions.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
                case "-h", "--help" -> {
                    System.out.println("usage: BrokerMain [--host H] [--port P] [--sink-redis HOST:PORT"
                            + " | --sink-elasticsearch URL | --sink-null] [--stats-file PATH]"
                            + " [--tls-port P --tls-option KEY=VALUE ...] [sink.KEY=VALUE ...] [cfg.key=value ...]");
                    return;
                }
                default -> {
                    int eq = a.indexOf('=');
                    if (eq <= 0) {
                        System.err.println("unknown argument: " + a);
                        System.exit(2);
                    }
                    if (a.startsWith("sink.")) {
                        sinkProps.put(a.substring("sink.".length(), eq), a.substring(eq + 1));
                    } else {
                        cfg.put(a.substring(0, eq), a.substring(eq + 1));
                    }
                }
            }
        }
        Broker broker = new Broker(BrokerConfig.fromProperties(cfg));
        broker.start();
        Listener l = broker.openListener(ListenerConfig.tcp("bench", host, port));
        if (l.port() < 0) {
            System.err.println("BROKKR FAILED " + l.error());
            broker.stop();
            System.exit(1);
        }
        String tlsReady = "";
        if (tlsPort >= 0) {
            Listener t = broker.openListener(new ListenerConfig("bench-tls", "tls", host, tlsPort, null, tlsOptions));
            if (t.port() < 0) {
                System.err.println("BROKKR FAILED " + t.error());
                broker.stop();
                System.exit(1);
            }
            tlsReady = " tls_port=" + t.port();
        }
        RedisSink sink = null;
        if ("null".equals(redis)) {
            // the journal and the sink thread without a store: every write completes at once
            Map<String, Object> props = new HashMap<>(sinkProps);
            props.putIfAbsent("topics", "bench/#");
            broker.bindSink("bench-null", batch -> java.util.concurrent.CompletableFuture.completedFuture(null), props);
        } else if (redis != null) {
            int colon = redis.lastIndexOf(':');
            Map<String, Object> props = new HashMap<>();
            props.put("service.pid", "io.brokkr.connector.redis~bench");
            props.put("component.name", "io.brokkr.connector.redis");
            props.put("host", redis.substring(0, colon));
            props.put("port", redis.substring(colon + 1));
            props.put("topics", "bench/#");
            props.putAll(sinkProps);
            sink = new RedisSink();
            sink.activate(props);
            broker.bindSink(SINK_NAME, sink, props);
        }
        ElasticsearchSink esSink = null;
        if (elasticsearch != null) {
            Map<String, Object> props = new HashMap<>();
            props.put("service.pid", "io.brokkr.connector.elasticsearch~bench");
            props.put("component.name", "io.brokkr.connector.elasticsearch");
            props.put("url", elasticsearch);
            props.put("index", ES_INDEX);
            props.put("topics", "bench/#");
            // a service property of the DS component: what the broker reads in Karaf unless the cfg sets it
            props.put("batch.size", ElasticsearchSink.DEFAULT_BATCH_SIZE);
            props.putAll(sinkProps);
            esSink = new ElasticsearchSink();
            esSink.activate(props);
            broker.bindSink(ES_SINK_NAME, esSink, props);
        }
        ScheduledExecutorService stats = null;
        if (statsFile != null) {
            Path file = statsFile;
            stats = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "bench-stats");
                t.setDaemon(true);
                return t;
            });
            stats.scheduleAtFixedRate(() -> writeStats(broker, file), 0, 200, TimeUnit.MILLISECONDS);
        }
        RedisSink boundSink = sink;
        ElasticsearchSink boundEsSink = esSink;
        ScheduledExecutorService statsTask = stats;
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (statsTask != null) {
                statsTask.shutdownNow();
            }
            broker.stop();
            if (boundSink != null) {
                boundSink.deactivate();
            }
            if (boundEsSink != null) {
                boundEsSink.deactivate();
            }
            done.countDown();
        }, "brokkr-shutdown"));
        System.out.println("BROKKR READY port=" + l.port() + tlsReady + " pid=" + ProcessHandle.current().pid());
        System.out.flush();
        done.await();
    }

    /**
     * {@code time_ms=<epoch ms> appends=.. fsyncs=.. journal_bytes=.. queued_bytes=.. sink_written=.. sink_backlog=..
     * sink_retries=.. cpu_us=.. sink_cpu_us=.. journal_cpu_us=..}: the journal's counters since it was opened
     * ({@link JournalStats}) and the sink's, all 0 without a sink (the journal is not even opened then); the CPU time
     * of the process, of the sink threads ({@code brokkr-sink-*}, and the I/O threads of the Elasticsearch connector's
     * client, {@code elasticsearch-rest-client-*}, which send the requests and parse the answers) and of the journal's
     * threads ({@code brokkr-journal-*}: writer and forces) in microseconds (threads that ended are not counted); how
     * many times back-pressure paused a publisher and how many of those pauses lasted the whole 500 ms.
     */
    static String statsLine(Broker broker) {
        SinkHub hub = broker.sinkHub();
        Journal j = hub == null ? null : hub.journal();
        JournalStats s = j == null ? null : j.stats();
        long written = 0;
        long backlog = 0;
        long retries = 0;
        if (hub != null) {
            for (io.brokkr.api.SinkInfo i : hub.infos()) {
                written += i.written();
                backlog += i.pendingRecords();
                retries += i.retries();
            }
        }
        long sinkCpu = 0;
        long journalCpu = 0;
        java.lang.management.ThreadMXBean tmx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            String n = t.getName();
            if (n.startsWith("brokkr-sink-") || n.startsWith("elasticsearch-rest-client-")) {
                sinkCpu += Math.max(0, tmx.getThreadCpuTime(t.getId()));
            } else if (n.startsWith("brokkr-journal-")) {
                journalCpu += Math.max(0, tmx.getThreadCpuTime(t.getId()));
            }
        }
        long cpu = java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : 0;
        return "time_ms=" + System.currentTimeMillis() + " appends=" + (s == null ? 0 : s.appends())
                + " fsyncs=" + (s == null ? 0 : s.fsyncs()) + " journal_bytes=" + (s == null ? 0 : s.bytesWritten())
                + " queued_bytes=" + (s == null ? 0 : s.queuedBytes()) + " sink_written=" + written
                + " sink_backlog=" + backlog + " sink_retries=" + retries + " cpu_us=" + cpu / 1000
                + " sink_cpu_us=" + sinkCpu / 1000 + " journal_cpu_us=" + journalCpu / 1000
                + " publishers_paused=" + broker.publishersPaused()
                + " publisher_pauses_capped=" + broker.publisherPausesCapped()
                + " publisher_pauses_extended=" + broker.publisherPausesExtended();
    }

    private static void writeStats(Broker broker, Path file) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, statsLine(broker) + "\n");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            System.err.println("stats: " + e);
        }
    }
}
