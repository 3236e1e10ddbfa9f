package io.brokkr.bench;

import io.brokkr.api.storage.RecordFormat;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttEncoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XReadParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The broker with a storage connector, from outside: QoS 1 publishers at full speed into a broker that journals every
 * message for a Redis sink ({@code BrokerMain --sink-redis}) or an Elasticsearch sink
 * ({@code BrokerMain --sink-elasticsearch}), and what reaches the store. Run it once against a broker with the sink
 * and once against one without ({@code --redis} and {@code --es} not given) to see what the sink costs.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.SinkBench --port 1883 [--redis 127.0.0.1:6379 | --es http://127.0.0.1:9200]
 *     [--es-index brokkr-bench] [--es-warmup-docs 200000] [--stats-file PATH] [--clients 8] [--window 20]
 *     [--payload 64] [--warmup 3] [--duration 10] [--rate 0] [--probe-rate 100] [--subscriber] [--mqtt 3|5]
 * </pre>
 *
 * <ul>
 *   <li>With {@code --es}: first creates the index and writes {@code --es-warmup-docs} documents on other topics
 *       into it ({@link EsStore#warmUp}), so that the node's JVM is warm when the publishers start.</li>
 *   <li>{@code --clients} publishers, each on {@code bench/<run>/<i>}, publish QoS 1 as fast as their window of
 *       unacknowledged messages allows (LoadTool's qos1 publishers); no MQTT subscriber unless {@code --subscriber}
 *       (one QoS 1 subscriber on {@code bench/#}).</li>
 *   <li>Throughput: PUBACKs per second over the measured period (after the warm-up).</li>
 *   <li>Journal: appends and fsyncs per second over the same period, from the broker's {@code --stats-file}.</li>
 *   <li>CPU, from the same file: cores the broker process used ({@code broker_cores}), its CPU µs per acknowledged
 *       message ({@code broker_cpu_us_msg}), the sink threads' per record written ({@code sink_cpu_us_rec}) and the
 *       journal's threads' per append ({@code journal_cpu_us_rec}).</li>
 *   <li>Store: the sum of {@code XLEN} of the publishers' streams ({@code <key prefix>bench/<run>/<i>}) at the start
 *       and end of the period: records per second written into Redis; and how many acknowledged messages were not
 *       in Redis yet at the end (the sink's lag). With {@code --es}: {@code _count} of the documents of the
 *       publishers' topics in the index {@code --es-index} (the one {@code BrokerMain --sink-elasticsearch} writes),
 *       after a {@code _refresh} (so that the count is not behind by the refresh interval; while draining, without
 *       one).</li>
 *   <li>Delay: a probe client publishes {@code --probe-rate} QoS 1 messages per second on
 *       {@code bench/<run>/probe}; a reader blocks in {@code XREAD} on that stream. For each probe message
 *       acknowledged during the period: the time its entry was read minus the time its PUBACK arrived (p50, p99;
 *       an entry read before its PUBACK counts 0 and is counted in {@code vis_before_ack}). With {@code --es}: a
 *       reader polls {@code _search} every {@value EsStore#PROBE_POLL_MS} ms for the probe topic's documents newer
 *       than the last one seen: "visible" is "searchable", after the index's refresh (1 s by default), and the
 *       poll adds up to {@value EsStore#PROBE_POLL_MS} ms.</li>
 *   <li>Loss: after the publishers stop, waits until every acknowledged message is in Redis (or nothing new arrived
 *       for {@code --drain} s), then reads every stream back ({@code XRANGE}) and decodes the publisher's sequence
 *       number from each payload: {@code lost} counts acknowledged messages not in the store, {@code dups} those
 *       stored more than once. Both must be 0. With {@code --es}: waits until {@code _count} reaches the
 *       acknowledged messages, then reads every document back with a scroll (the publisher from its topic, the
 *       sequence from its payload).</li>
 *   <li>Draining: records per second written while the sink works off what was behind at the end of the period
 *       ({@code drain_recs_s}, the publishers stopped). With {@code --es}: the node's CPU (its process, from
 *       {@code _nodes/stats}) per document indexed, in the period ({@code es_cpu_us_doc}, with {@code es_cores}) and
 *       while draining ({@code es_cpu_us_doc_drain}): how the mapping and the requests change the node's work,
 *       whatever share of the cores it got.</li>
 * </ul>
 * Prints one {@code RESULT scenario=sink-redis ...} (or {@code sink-none}; {@code --scenario NAME} to name it
 * otherwise, e.g. {@code sink-null} against {@code BrokerMain --sink-null}) line.
 */
public final class SinkBench {

    private final Map<String, String> o = new HashMap<>();
    private final String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    private final List<BenchClient> all = new ArrayList<>();
    private EventLoopGroup pubGroup;
    private EventLoopGroup probeGroup;
    private Class<? extends Channel> channelClass;

    private SinkBench() {
        o.put("host", "127.0.0.1");
        o.put("port", "1883");
        o.put("clients", "8");
        o.put("window", "20");
        o.put("payload", "64");
        o.put("warmup", "3");
        o.put("duration", "10");
        o.put("probe-rate", "100");
        o.put("rate", "0");
        o.put("drain", "10");
        o.put("mqtt", "3");
        o.put("key-prefix", "mqtt:");
        o.put("label", "brokkr");
    }

    private int num(String k) {
        return Integer.parseInt(o.get(k));
    }

    public static void main(String[] args) throws Exception {
        SinkBench b = new SinkBench();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: SinkBench --port P [--redis HOST:PORT | --es URL [--es-index I]]"
                        + " [--stats-file PATH]"
                        + " [--es-warmup-docs N] [--clients N] [--rate MSGS_PER_S]"
                        + " [--window W] [--payload B] [--warmup S] [--duration S] [--probe-rate R] [--drain S]"
                        + " [--subscriber] [--mqtt 3|5] [--key-prefix mqtt:] [--label L]");
                return;
            }
            if (a.equals("--subscriber")) {
                b.o.put("subscriber", "1");
                continue;
            }
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("bad argument " + a);
            }
            b.o.put(a.substring(2), args[++i]);
        }
        String line;
        try {
            line = b.run();
        } catch (Exception e) {
            line = "scenario=" + b.scenario() + " broker=" + b.o.get("label") + " error="
                    + String.valueOf(e).replace(' ', '_');
            e.printStackTrace();
        } finally {
            b.close();
        }
        System.out.println("RESULT " + line);
        System.exit(0);
    }

    private String scenario() {
        return o.containsKey("scenario") ? o.get("scenario") : o.containsKey("redis") ? "sink-redis"
                : o.containsKey("es") ? "sink-elasticsearch" : "sink-none";
    }

    private String run() throws Exception {
        DefaultThreadFactory ptf = new DefaultThreadFactory("load-pub");
        DefaultThreadFactory qtf = new DefaultThreadFactory("load-probe");
        if (Epoll.isAvailable()) {
            pubGroup = new EpollEventLoopGroup(1, ptf);
            probeGroup = new EpollEventLoopGroup(1, qtf);
            channelClass = EpollSocketChannel.class;
        } else {
            pubGroup = new NioEventLoopGroup(1, ptf);
            probeGroup = new NioEventLoopGroup(1, qtf);
            channelClass = NioSocketChannel.class;
        }
        int clients = num("clients");
        String prefix = o.get("key-prefix");
        RedisClient redis = null;
        Prober prober = null;
        EsStore es = null;
        EsStore.Prober esProber = null;
        if (o.containsKey("redis")) {
            String r = o.get("redis");
            int colon = r.lastIndexOf(':');
            redis = RedisClient.create(r.substring(0, colon), Integer.parseInt(r.substring(colon + 1)));
        }
        if (o.containsKey("es")) {
            es = new EsStore(o.get("es"), o.getOrDefault("es-index", "brokkr-bench"), "bench/" + run + "/");
            es.awaitIndex(connect("first", 0, probeGroup));
            es.warmUp(Integer.parseInt(o.getOrDefault("es-warmup-docs", "200000")));
        }
        try {
            BenchClient sub = null;
            if (o.containsKey("subscriber")) {
                sub = connect("sub", 0, probeGroup);
                sub.subscribe("bench/" + run + "/#", 1).get(10, TimeUnit.SECONDS);
            }
            // the probe and its reader
            BenchClient probe = connect("probe", 0, probeGroup);
            Map<Integer, Long> ackAt = new ConcurrentHashMap<>();
            probe.ackListener = seq -> ackAt.put(seq, System.nanoTime());
            if (redis != null) {
                String[] hp = o.get("redis").split(":");
                prober = new Prober(hp[0], Integer.parseInt(hp[1]), prefix + "bench/" + run + "/probe");
                prober.start();
            }
            if (es != null) {
                esProber = es.new Prober();
                esProber.start();
            }
            List<BenchClient> pubs = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                pubs.add(connect("pub", i, pubGroup));
            }
            double rate = Double.parseDouble(o.get("rate")) / clients; // 0: as fast as the windows allow
            for (int i = 0; i < clients; i++) {
                pubs.get(i).startPublishing("bench/" + run + "/" + i, i, 1, num("payload"), num("window"), rate);
            }
            probe.startPublishing("bench/" + run + "/probe", clients, 1, num("payload"), num("window"),
                    Double.parseDouble(o.get("probe-rate")));

            Thread.sleep(num("warmup") * 1000L);
            for (BenchClient p : pubs) {
                p.recording = true;
            }
            String[] s0 = stats();
            long a0 = acked(pubs);
            long x0 = storeCount(redis, es, prefix, clients);
            long e0 = es == null ? 0 : es.cpuMillis();
            long t0 = System.nanoTime();
            Thread.sleep(num("duration") * 1000L);
            long t1 = System.nanoTime();
            long x1 = storeCount(redis, es, prefix, clients); // before the acknowledgements: the lag is not understated
            long e1 = es == null ? 0 : es.cpuMillis();
            long a1 = acked(pubs);
            String[] s1 = stats();
            for (BenchClient p : pubs) {
                p.recording = false;
                p.stopPublishing();
            }
            probe.stopPublishing();
            double secs = (t1 - t0) / 1e9;

            // let the windows drain
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (BenchClient p : pubs) {
                while (p.onLoop(() -> p.inflight) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
            }
            long acked = 0;
            BitSet[] ackedSeqs = new BitSet[clients];
            for (int i = 0; i < clients; i++) {
                BenchClient p = pubs.get(i);
                ackedSeqs[i] = p.onLoop(() -> (BitSet) p.ackedSeqs.clone());
                acked += ackedSeqs[i].cardinality();
            }
            Histogram ackLat = new Histogram(TimeUnit.MINUTES.toMicros(30), 2);
            for (BenchClient p : pubs) {
                ackLat.add(p.onLoop(() -> p.ackLatency.copy()));
            }
            StringBuilder out = new StringBuilder();
            out.append("scenario=").append(scenario()).append(" broker=").append(o.get("label"))
                    .append(" mqtt=").append(o.get("mqtt")).append(" publishers=").append(clients)
                    .append(" window=").append(o.get("window")).append(" payload=").append(o.get("payload"))
                    .append(" subscriber=").append(sub == null ? 0 : 1).append(" rate=").append(o.get("rate"))
                    .append(" acked_msgs_s=").append(rate((a1 - a0) / secs));
            if (s0 != null && s1 != null) {
                long appends = field(s1, "appends") - field(s0, "appends");
                long fsyncs = field(s1, "fsyncs") - field(s0, "fsyncs");
                double wall = (field(s1, "time_ms") - field(s0, "time_ms")) / 1000.0;
                out.append(" journal_appends_s=").append(rate(appends / wall))
                        .append(" fsyncs_s=").append(rate(fsyncs / wall))
                        .append(" recs_per_fsync=").append(fsyncs == 0 ? "-" : rate((double) appends / fsyncs))
                        .append(" sink_written_s=")
                        .append(rate((field(s1, "sink_written") - field(s0, "sink_written")) / wall));
                // CPU per message: the broker process per acknowledged message, the sink threads per record written,
                // the journal's threads per append (µs; "-" where nothing was counted)
                double cpuPerSec = (field(s1, "cpu_us") - field(s0, "cpu_us")) / wall;
                double ackedPerSec = (a1 - a0) / secs;
                long sinkRecs = field(s1, "sink_written") - field(s0, "sink_written");
                out.append(" broker_cores=").append(String.format(java.util.Locale.ROOT, "%.2f", cpuPerSec / 1e6))
                        .append(" broker_cpu_us_msg=").append(micros(ackedPerSec == 0 ? -1 : cpuPerSec / ackedPerSec))
                        .append(" sink_cpu_us_rec=").append(micros(sinkRecs == 0 ? -1
                                : (double) (field(s1, "sink_cpu_us") - field(s0, "sink_cpu_us")) / sinkRecs))
                        .append(" journal_cpu_us_rec=").append(micros(appends == 0 ? -1
                                : (double) (field(s1, "journal_cpu_us") - field(s0, "journal_cpu_us")) / appends));
            }
            out.append(" ").append(lat("ack", ackLat));
            if (redis != null || es != null) {
                out.append(" store_recs_s=").append(rate((x1 - x0) / secs))
                        .append(" store_lag_end=").append(a1 - x1);
                if (es != null) { // the node's CPU (its own process, from _nodes/stats) per document indexed
                    out.append(" es_cores=").append(String.format(Locale.ROOT, "%.2f", (e1 - e0) / 1000.0 / secs))
                            .append(" es_cpu_us_doc=").append(micros(x1 == x0 ? -1 : (e1 - e0) * 1000.0 / (x1 - x0)));
                }
                // drain: wait until every acknowledged message is in Redis
                long drainStart = System.nanoTime();
                long ed0 = es == null ? 0 : es.cpuMillis();
                long drained = x1;
                long last = -1;
                long lastChange = drainStart;
                long drainLimit = TimeUnit.SECONDS.toNanos(num("drain"));
                while (true) {
                    // Elasticsearch: no _refresh here (5 a second would make the node write tiny segments and
                    // merge them while it should index): what the last refresh made searchable, up to 1 s behind
                    long n = es != null ? es.count(false) : storeCount(redis, null, prefix, clients);
                    drained = n;
                    if (n >= acked) {
                        break;
                    }
                    if (n != last) {
                        last = n;
                        lastChange = System.nanoTime();
                    } else if (System.nanoTime() - lastChange > drainLimit) {
                        break;
                    }
                    Thread.sleep(es != null ? 200 : 50);
                }
                double drainSecs = (System.nanoTime() - drainStart) / 1e9;
                long ed1 = es == null ? 0 : es.cpuMillis();
                long stored = 0;
                long dups = 0;
                long lost = 0;
                long foreign = 0;
                BitSet[] seen = new BitSet[clients];
                for (int i = 0; i < clients; i++) {
                    seen[i] = new BitSet();
                }
                if (es != null) {
                    long[] counts = es.readBack(seen);
                    stored = counts[0];
                    dups = counts[1];
                    foreign = counts[2];
                }
                for (int i = 0; i < clients; i++) {
                    if (redis != null) {
                        long[] counts = readBack(redis, prefix + "bench/" + run + "/" + i, i, seen[i]);
                        stored += counts[0];
                        dups += counts[1];
                        foreign += counts[2];
                    }
                    BitSet missing = (BitSet) ackedSeqs[i].clone();
                    missing.andNot(seen[i]);
                    lost += missing.cardinality();
                }
                out.append(" acked=").append(acked).append(" stored=").append(stored).append(" lost=").append(lost)
                        .append(" dups=").append(dups).append(" unreadable=").append(foreign)
                        .append(" drain_s=").append(String.format(Locale.ROOT, "%.1f", drainSecs))
                        .append(" drain_recs_s=").append(rate((drained - x1) / drainSecs));
                if (es != null) {
                    out.append(" es_cpu_us_doc_drain=").append(micros(drained == x1 ? -1
                            : (ed1 - ed0) * 1000.0 / (drained - x1)));
                }
                // delay PUBACK -> visible, for the probe messages acknowledged in the measured period
                Map<Integer, Long> visible;
                if (prober != null) {
                    prober.stop();
                    visible = prober.visible;
                } else {
                    esProber.stop();
                    visible = esProber.visible;
                }
                Histogram vis = new Histogram(TimeUnit.MINUTES.toMicros(30), 2);
                int before = 0;
                for (Map.Entry<Integer, Long> e : ackAt.entrySet()) {
                    long ack = e.getValue();
                    Long seenAt = visible.get(e.getKey());
                    if (ack < t0 || ack > t1 || seenAt == null) {
                        continue;
                    }
                    long d = (seenAt - ack) / 1000;
                    if (d < 0) {
                        before++;
                        d = 0;
                    }
                    vis.recordValue(Math.min(d, vis.getHighestTrackableValue()));
                }
                out.append(" ").append(lat("vis", vis)).append(" vis_samples=").append(vis.getTotalCount())
                        .append(" vis_before_ack=").append(before);
            } else {
                out.append(" acked=").append(acked);
            }
            if (sub != null) {
                BenchClient s = sub;
                out.append(" sub_received=").append(s.onLoop(() -> s.received));
            }
            return out.toString();
        } finally {
            if (prober != null) {
                prober.stop();
            }
            if (esProber != null) {
                esProber.stop();
            }
            if (redis != null) {
                redis.close();
            }
        }
    }

    private static String micros(double us) {
        return us < 0 ? "-" : String.format(java.util.Locale.ROOT, "%.2f", us);
    }

    /** The broker's stats line (BrokerMain --stats-file) as key=value pairs; null without a stats file. */
    private String[] stats() throws Exception {
        String f = o.get("stats-file");
        if (f == null) {
            return null;
        }
        return Files.readString(Path.of(f)).trim().split(" ");
    }

    private static long field(String[] stats, String key) {
        for (String kv : stats) {
            if (kv.startsWith(key + "=")) {
                return Long.parseLong(kv.substring(key.length() + 1));
            }
        }
        throw new IllegalArgumentException("no " + key + " in the stats line");
    }

    private static long acked(List<BenchClient> pubs) {
        long n = 0;
        for (BenchClient p : pubs) {
            n += p.acked;
        }
        return n;
    }

    /** Sum of XLEN of the publishers' streams, or the publishers' documents in Elasticsearch; 0 without a store. */
    private long storeCount(RedisClient redis, EsStore es, String prefix, int clients) throws Exception {
        if (es != null) {
            return es.count(true);
        }
        if (redis == null) {
            return 0;
        }
        long n = 0;
        for (int i = 0; i < clients; i++) {
            n += redis.xlen(prefix + "bench/" + run + "/" + i);
        }
        return n;
    }

    /**
     * Reads a stream through in chunks; marks each entry's sequence number in {@code seen}. Returns entries, entries
     * whose sequence was seen before, entries whose payload is not this publisher's.
     */
    private static long[] readBack(RedisClient redis, String key, int publisher, BitSet seen) {
        long entries = 0;
        long dups = 0;
        long foreign = 0;
        String from = "-";
        while (true) {
            List<StreamEntry> chunk = redis.xrange(key, from, "+", 10_000);
            for (StreamEntry e : chunk) {
                entries++;
                byte[] p = payload(e.getFields());
                if (p == null || p.length < Wire.HEADER) {
                    foreign++;
                    continue;
                }
                ByteBuffer b = ByteBuffer.wrap(p);
                int pub = b.getInt(8);
                int seq = b.getInt(12);
                if (pub != publisher || seq < 0) {
                    foreign++;
                } else if (seen.get(seq)) {
                    dups++;
                } else {
                    seen.set(seq);
                }
            }
            if (chunk.size() < 10_000) {
                break;
            }
            from = "(" + chunk.get(chunk.size() - 1).getID();
        }
        return new long[] {entries, dups, foreign};
    }

    /** The payload bytes of a stream entry written with format text (falling back to base64) or base64. */
    static byte[] payload(Map<String, String> fields) {
        String p = fields.get("payload");
        if (p == null) {
            return null;
        }
        String enc = fields.get("payloadEncoding");
        return "base64".equals(enc) ? Base64.getDecoder().decode(p) : p.getBytes(StandardCharsets.UTF_8);
    }

    /** Blocks in XREAD on the probe stream and notes when each probe message (by sequence) became readable. */
    private static final class Prober implements Runnable {
        final Map<Integer, Long> visible = new ConcurrentHashMap<>();
        private final RedisClient redis;
        private final String key;
        private volatile boolean running = true;
        private final Thread thread = new Thread(this, "probe-reader");

        Prober(String host, int port, String key) {
            this.redis = RedisClient.create(host, port);
            this.key = key;
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(5000);
            redis.close();
        }

        @Override
        public void run() {
            StreamEntryID last = new StreamEntryID(0, 0);
            XReadParams params = XReadParams.xReadParams().block(200).count(1000);
            while (running) {
                try {
                    var res = redis.xread(params, Map.of(key, last));
                    long now = System.nanoTime();
                    if (res == null) {
                        continue;
                    }
                    for (var streams : res) {
                        for (StreamEntry e : streams.getValue()) {
                            last = e.getID();
                            byte[] p = payload(e.getFields());
                            if (p != null && p.length >= Wire.HEADER) {
                                visible.putIfAbsent(ByteBuffer.wrap(p).getInt(12), now);
                            }
                        }
                    }
                } catch (RuntimeException e) {
                    if (running) {
                        System.err.println("probe reader: " + e);
                    }
                }
            }
        }
    }

    /**
     * Reads what {@code BrokerMain --sink-elasticsearch} wrote, with the JDK's HTTP client (independent of the
     * connector's): the index holds one document per record, {@code topic} and {@code payload} among its fields
     * (binary payloads in base64 with {@code payloadEncoding}).
     */
    private static final class EsStore {
        /** How often the probe reader searches for new probe documents. */
        static final int PROBE_POLL_MS = 50;

        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        private final String url;
        private final String index;
        /** {@code bench/<run>/}: the publishers' topics are this plus their number. */
        private final String topicPrefix;
        private final String probeTopic;

        EsStore(String url, String index, String topicPrefix) {
            this.url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            this.index = index;
            this.topicPrefix = topicPrefix;
            this.probeTopic = topicPrefix + "probe";
        }

        /** The parsed JSON answer; fails on an HTTP status >= 400. */
        @SuppressWarnings("unchecked")
        Map<String, Object> call(String method, String path, String body) throws Exception {
            HttpRequest r = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(body))
                    .build();
            HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
            if (res.statusCode() >= 400) {
                throw new IllegalStateException(method + " " + path + " -> HTTP " + res.statusCode() + ": "
                        + res.body());
            }
            return (Map<String, Object>) RecordFormat.parseJson(res.body());
        }

        /** The query for the publishers' documents (all of the run's but the probe's). */
        private String publishers() {
            return "{\"bool\":{\"filter\":" + topicQuery("prefix", topicPrefix) + ",\"must_not\":"
                    + topicQuery("term", probeTopic) + "}}";
        }

        /**
         * A {@code term} or {@code prefix} query on the topic: on {@code topic} (a keyword in the connector's index
         * template) or {@code topic.keyword} (Elasticsearch's dynamic mapping, {@code template = false}).
         */
        private static String topicQuery(String kind, String value) {
            String v = RecordFormat.toJson(value);
            return "{\"bool\":{\"should\":[{\"" + kind + "\":{\"topic\":" + v + "}},{\"" + kind
                    + "\":{\"topic.keyword\":" + v + "}}],\"minimum_should_match\":1}}";
        }

        /**
         * Waits until the index exists, which {@code first} (a client that publishes one message, on
         * {@code bench/first}, which BrokerMain's sink matches) makes the connector create with its first bulk,
         * after it installed its index template (unless {@code template = false}), as a new installation would: so
         * that the index has the connector's mapping and the measured period does not include the index's creation
         * (it took seconds here).
         */
        void awaitIndex(BenchClient first) throws Exception {
            first.limit(1).startPublishing("bench/first", 0, 1, 64, 1, 0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                try {
                    call("GET", "/" + index, null);
                    break;
                } catch (IllegalStateException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the connector did not create index " + index
                                + " within 60 s", notYet);
                    }
                    Thread.sleep(100);
                }
            }
            call("GET", "/_cluster/health/" + index + "?wait_for_status=yellow&timeout=60s", null);
        }

        /**
         * Writes {@code docs} documents shaped like the connector's (the same fields, a 64-byte payload in base64) on
         * the topic {@code warmup/<i>} into the index with {@code _bulk}s of 2,000, before the publishers start. A node
         * started for the run is a cold JVM: in runs here its CPU per indexed document fell from about 1 ms for the
         * first ten thousand documents to 65-75 µs after half a million; without this the measured period would
         * show the node's JIT warm-up. The documents are not the publishers' and are not counted.
         */
        void warmUp(int docs) throws Exception {
            long t0 = System.nanoTime();
            byte[] payload = new byte[64];
            for (int done = 0; done < docs; ) {
                StringBuilder body = new StringBuilder(2000 * 400);
                for (int i = 0; i < 2000 && done < docs; i++, done++) {
                    ThreadLocalRandom.current().nextBytes(payload);
                    long now = System.currentTimeMillis();
                    // with an _id, as the connector writes: Elasticsearch then looks up each id (an automatic id
                    // skips that), and that path has to be compiled by the node's JIT too
                    body.append("{\"create\":{\"_id\":\"warmup-").append(done).append("\"}}\n{\"id\":\"warmup-")
                            .append(done).append("\",\"sender\":\"warmup-")
                            .append(done % 8).append("\",\"topic\":\"warmup/").append(done % 8)
                            .append("\",\"payload\":\"").append(Base64.getEncoder().encodeToString(payload))
                            .append("\",\"payloadEncoding\":\"base64\",\"qos\":1,\"retain\":false,\"time\":")
                            .append(now)
                            .append(",\"datetime\":\"").append(java.time.Instant.ofEpochMilli(now)).append("\"}\n");
                }
                Map<String, Object> r = call("POST", "/" + index + "/_bulk", body.toString());
                if (Boolean.TRUE.equals(r.get("errors"))) {
                    throw new IllegalStateException("warm-up bulk rejected: " + String.valueOf(r).substring(0, 500));
                }
            }
            System.err.printf("elasticsearch warm-up: %d documents in %.1f s%n", docs, (System.nanoTime() - t0) / 1e9);
        }

        /** The publishers' documents, after a refresh if {@code refresh} (0 before the index exists). */
        /** The node process's CPU time so far, in ms ({@code _nodes/stats/process}). */
        @SuppressWarnings("unchecked")
        long cpuMillis() throws Exception {
            Map<String, Object> nodes = (Map<String, Object>) call("GET", "/_nodes/_local/stats/process", null)
                    .get("nodes");
            Map<String, Object> node = (Map<String, Object>) nodes.values().iterator().next();
            Map<String, Object> cpu = (Map<String, Object>) ((Map<String, Object>) node.get("process")).get("cpu");
            return ((Number) cpu.get("total_in_millis")).longValue();
        }

        long count(boolean refresh) throws Exception {
            String opts = "?ignore_unavailable=true&allow_no_indices=true";
            if (refresh) {
                call("POST", "/" + index + "/_refresh" + opts, null);
            }
            Map<String, Object> r = call("POST", "/" + index + "/_count" + opts, "{\"query\":" + publishers() + "}");
            return ((Number) r.get("count")).longValue();
        }

        /**
         * Scrolls through the publishers' documents; marks each one's sequence in {@code seen[publisher]}. Returns
         * documents, documents whose sequence was seen before, documents whose topic or payload is not a
         * publisher's.
         */
        @SuppressWarnings("unchecked")
        long[] readBack(BitSet[] seen) throws Exception {
            long docs = 0;
            long dups = 0;
            long foreign = 0;
            call("POST", "/" + index + "/_refresh", null);
            Map<String, Object> r = call("POST", "/" + index + "/_search?scroll=1m", "{\"size\":10000,"
                    + "\"sort\":[\"_doc\"],\"_source\":[\"topic\",\"payload\",\"payloadEncoding\"],\"query\":"
                    + publishers() + "}");
            while (true) {
                String scrollId = (String) r.get("_scroll_id");
                List<Object> hits = (List<Object>) ((Map<String, Object>) r.get("hits")).get("hits");
                for (Object h : hits) {
                    docs++;
                    Map<String, Object> src = (Map<String, Object>) ((Map<String, Object>) h).get("_source");
                    int pub;
                    try {
                        pub = Integer.parseInt(String.valueOf(src.get("topic")).substring(topicPrefix.length()));
                    } catch (RuntimeException e) {
                        foreign++;
                        continue;
                    }
                    byte[] p = payload(strings(src));
                    if (p == null || p.length < Wire.HEADER || pub < 0 || pub >= seen.length) {
                        foreign++;
                        continue;
                    }
                    ByteBuffer b = ByteBuffer.wrap(p);
                    int seq = b.getInt(12);
                    if (b.getInt(8) != pub || seq < 0) {
                        foreign++;
                    } else if (seen[pub].get(seq)) {
                        dups++;
                    } else {
                        seen[pub].set(seq);
                    }
                }
                if (hits.isEmpty() || scrollId == null) {
                    if (scrollId != null) {
                        call("DELETE", "/_search/scroll", "{\"scroll_id\":" + RecordFormat.toJson(scrollId) + "}");
                    }
                    break;
                }
                r = call("POST", "/_search/scroll", "{\"scroll\":\"1m\",\"scroll_id\":"
                        + RecordFormat.toJson(scrollId) + "}");
            }
            return new long[] {docs, dups, foreign};
        }

        private static Map<String, String> strings(Map<String, Object> source) {
            Map<String, String> out = new HashMap<>();
            source.forEach((k, v) -> out.put(k, v == null ? null : v.toString()));
            return out;
        }

        /**
         * Polls {@code _search} for the probe topic's documents with a {@code time} (the broker's receive time, in
         * ms) at or after the newest seen so far, and notes when each probe message (by sequence) was first found.
         */
        final class Prober implements Runnable {
            final Map<Integer, Long> visible = new ConcurrentHashMap<>();
            private volatile boolean running = true;
            private final Thread thread = new Thread(this, "probe-reader");
            private String lastError;

            Prober() {
                thread.setDaemon(true);
            }

            void start() {
                thread.start();
            }

            void stop() throws InterruptedException {
                running = false;
                thread.join(5000);
            }

            @Override
            @SuppressWarnings("unchecked")
            public void run() {
                long from = 0;
                while (running) {
                    try {
                        Map<String, Object> r = call("POST", "/" + index
                                + "/_search?ignore_unavailable=true&allow_no_indices=true", "{\"size\":1000,"
                                + "\"sort\":[{\"time\":{\"order\":\"asc\",\"unmapped_type\":\"long\"}}],"
                                + "\"_source\":[\"time\",\"payload\",\"payloadEncoding\"],"
                                + "\"query\":{\"bool\":{\"filter\":[" + topicQuery("term", probeTopic)
                                + ",{\"range\":{\"time\":{\"gte\":" + from + "}}}]}}}");
                        long now = System.nanoTime();
                        List<Object> hits = (List<Object>) ((Map<String, Object>) r.get("hits")).get("hits");
                        for (Object h : hits) {
                            Map<String, Object> src = (Map<String, Object>) ((Map<String, Object>) h).get("_source");
                            from = Math.max(from, ((Number) src.get("time")).longValue());
                            byte[] p = payload(strings(src));
                            if (p != null && p.length >= Wire.HEADER) {
                                visible.putIfAbsent(ByteBuffer.wrap(p).getInt(12), now);
                            }
                        }
                        Thread.sleep(PROBE_POLL_MS);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        String m = String.valueOf(e.getMessage());
                        if (running && !m.equals(lastError)) { // once per kind: not 50 a second
                            System.err.println("probe reader: " + e);
                        }
                        lastError = m;
                    }
                }
            }
        }
    }

    private BenchClient connect(String role, int i, EventLoopGroup group) throws Exception {
        BenchClient c = new BenchClient("sink-" + run + "-" + role + i).mqtt(num("mqtt"));
        Bootstrap b = new Bootstrap().group(group).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new MqttDecoder(1024 * 1024), MqttEncoder.INSTANCE, c);
                    }
                });
        all.add(c);
        b.connect(o.get("host"), num("port")).addListener(x -> {
            if (!x.isSuccess()) {
                c.connected.completeExceptionally(x.cause());
            }
        });
        return c.connected.get(15, TimeUnit.SECONDS);
    }

    private void close() {
        for (BenchClient c : all) {
            c.running = false;
            if (c.channel != null) {
                c.channel.close();
            }
        }
        if (pubGroup != null) {
            pubGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            probeGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static String rate(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static String lat(String prefix, Histogram h) {
        if (h.getTotalCount() == 0) {
            return prefix + "_p50_us=- " + prefix + "_p99_us=-";
        }
        return prefix + "_p50_us=" + h.getValueAtPercentile(50) + " " + prefix + "_p99_us="
                + h.getValueAtPercentile(99);
    }
}
