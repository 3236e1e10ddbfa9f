package io.brokkr.bench;

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
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * message for a Redis sink ({@code BrokerMain --sink-redis}), and what reaches the store. Run it once against a
 * broker with the sink and once against one without ({@code --redis} not given) to see what the sink costs.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.SinkBench --port 1883 [--redis 127.0.0.1:6379] [--stats-file PATH] [--clients 8]
 *     [--window 20] [--payload 64] [--warmup 3] [--duration 10] [--probe-rate 100] [--subscriber] [--mqtt 3|5]
 * </pre>
 *
 * <ul>
 *   <li>{@code --clients} publishers, each on {@code bench/<run>/<i>}, publish QoS 1 as fast as their window of
 *       unacknowledged messages allows (LoadTool's qos1 publishers); no MQTT subscriber unless {@code --subscriber}
 *       (one QoS 1 subscriber on {@code bench/#}).</li>
 *   <li>Throughput: PUBACKs per second over the measured period (after the warm-up).</li>
 *   <li>Journal: appends and fsyncs per second over the same period, from the broker's {@code --stats-file}.</li>
 *   <li>Store: the sum of {@code XLEN} of the publishers' streams ({@code <key prefix>bench/<run>/<i>}) at the start
 *       and end of the period: records per second written into Redis; and how many acknowledged messages were not
 *       in Redis yet at the end (the sink's lag).</li>
 *   <li>Delay: a probe client publishes {@code --probe-rate} QoS 1 messages per second on
 *       {@code bench/<run>/probe}; a reader blocks in {@code XREAD} on that stream. For each probe message
 *       acknowledged during the period: the time its entry was read minus the time its PUBACK arrived (p50, p99;
 *       an entry read before its PUBACK counts 0 and is counted in {@code vis_before_ack}).</li>
 *   <li>Loss: after the publishers stop, waits until every acknowledged message is in Redis (or nothing new arrived
 *       for {@code --drain} s), then reads every stream back ({@code XRANGE}) and decodes the publisher's sequence
 *       number from each payload: {@code lost} counts acknowledged messages not in the store, {@code dups} those
 *       stored more than once. Both must be 0.</li>
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
                System.out.println("usage: SinkBench --port P [--redis HOST:PORT] [--stats-file PATH] [--clients N]"
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
        return o.containsKey("scenario") ? o.get("scenario") : o.containsKey("redis") ? "sink-redis" : "sink-none";
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
        if (o.containsKey("redis")) {
            String r = o.get("redis");
            int colon = r.lastIndexOf(':');
            redis = RedisClient.create(r.substring(0, colon), Integer.parseInt(r.substring(colon + 1)));
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
            List<BenchClient> pubs = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                pubs.add(connect("pub", i, pubGroup));
            }
            for (int i = 0; i < clients; i++) {
                pubs.get(i).startPublishing("bench/" + run + "/" + i, i, 1, num("payload"), num("window"), 0);
            }
            probe.startPublishing("bench/" + run + "/probe", clients, 1, num("payload"), num("window"),
                    Double.parseDouble(o.get("probe-rate")));

            Thread.sleep(num("warmup") * 1000L);
            for (BenchClient p : pubs) {
                p.recording = true;
            }
            String[] s0 = stats();
            long a0 = acked(pubs);
            long x0 = storeCount(redis, prefix, clients);
            long t0 = System.nanoTime();
            Thread.sleep(num("duration") * 1000L);
            long t1 = System.nanoTime();
            long x1 = storeCount(redis, prefix, clients); // before the acknowledgements: the lag is not understated
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
                    .append(" subscriber=").append(sub == null ? 0 : 1)
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
            }
            out.append(" ").append(lat("ack", ackLat));
            if (redis != null) {
                out.append(" store_recs_s=").append(rate((x1 - x0) / secs))
                        .append(" store_lag_end=").append(a1 - x1);
                // drain: wait until every acknowledged message is in Redis
                long drainStart = System.nanoTime();
                long last = -1;
                long lastChange = drainStart;
                long drainLimit = TimeUnit.SECONDS.toNanos(num("drain"));
                while (true) {
                    long n = storeCount(redis, prefix, clients);
                    if (n >= acked) {
                        break;
                    }
                    if (n != last) {
                        last = n;
                        lastChange = System.nanoTime();
                    } else if (System.nanoTime() - lastChange > drainLimit) {
                        break;
                    }
                    Thread.sleep(50);
                }
                double drainSecs = (System.nanoTime() - drainStart) / 1e9;
                long stored = 0;
                long dups = 0;
                long lost = 0;
                long foreign = 0;
                for (int i = 0; i < clients; i++) {
                    BitSet seen = new BitSet();
                    long[] counts = readBack(redis, prefix + "bench/" + run + "/" + i, i, seen);
                    stored += counts[0];
                    dups += counts[1];
                    foreign += counts[2];
                    BitSet missing = (BitSet) ackedSeqs[i].clone();
                    missing.andNot(seen);
                    lost += missing.cardinality();
                }
                out.append(" acked=").append(acked).append(" stored=").append(stored).append(" lost=").append(lost)
                        .append(" dups=").append(dups).append(" unreadable=").append(foreign)
                        .append(" drain_s=").append(String.format(Locale.ROOT, "%.1f", drainSecs));
                // delay PUBACK -> visible, for the probe messages acknowledged in the measured period
                prober.stop();
                Histogram vis = new Histogram(TimeUnit.MINUTES.toMicros(30), 2);
                int before = 0;
                for (Map.Entry<Integer, Long> e : ackAt.entrySet()) {
                    long ack = e.getValue();
                    Long seenAt = prober.visible.get(e.getKey());
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
            if (redis != null) {
                redis.close();
            }
        }
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

    /** Sum of XLEN of the publishers' streams; 0 without Redis. */
    private long storeCount(RedisClient redis, String prefix, int clients) {
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
