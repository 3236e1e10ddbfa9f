package io.brokkr.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * MQTT load generator on Netty + netty-codec-mqtt. One scenario per run; prints one summary line starting with
 * {@code RESULT}. See {@link #usage()}.
 */
public final class LoadTool {

    private final Options o;
    /** Publishers (and idle connections) and subscribers run on separate threads: full-speed publishers must
     * not starve the subscribers whose receive rate is measured. */
    private final EventLoopGroup pubGroup;
    private final EventLoopGroup subGroup;
    private final Class<? extends Channel> channelClass;
    private final String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    private final List<BenchClient> all = new ArrayList<>();

    static final class Options {
        String host = "127.0.0.1";
        int port = 1883;
        String scenario = "fanin";
        int clients = 4;
        int duration = 10;
        int warmup = 3;
        int payload = 64;
        int qos = -1;
        int window = 20;
        int threads = 1;
        long pid = -1;
        boolean jvm;
        String label = "broker";
        boolean idleSubscribe;
        double rate;
    }

    private LoadTool(Options o) {
        this.o = o;
        DefaultThreadFactory ptf = new DefaultThreadFactory("load-pub");
        DefaultThreadFactory stf = new DefaultThreadFactory("load-sub");
        if (Epoll.isAvailable()) {
            pubGroup = new EpollEventLoopGroup(o.threads, ptf);
            subGroup = new EpollEventLoopGroup(o.threads, stf);
            channelClass = EpollSocketChannel.class;
        } else {
            pubGroup = new NioEventLoopGroup(o.threads, ptf);
            subGroup = new NioEventLoopGroup(o.threads, stf);
            channelClass = NioSocketChannel.class;
        }
    }

    public static void main(String[] args) throws Exception {
        Options o = parse(args);
        if (o == null) {
            return;
        }
        LoadTool t = new LoadTool(o);
        int rc = 0;
        try {
            String line = switch (o.scenario) {
                case "fanin" -> t.fanin();
                case "fanout" -> t.fanout();
                case "qos1" -> t.qos(o.qos < 0 ? 1 : o.qos);
                case "qos2" -> t.qos(o.qos < 0 ? 2 : o.qos);
                case "idle" -> t.idle();
                default -> throw new IllegalArgumentException("unknown scenario " + o.scenario);
            };
            System.out.println("RESULT " + line);
        } catch (Exception e) {
            System.out.println("RESULT scenario=" + o.scenario + " broker=" + o.label + " error="
                    + String.valueOf(e.getMessage()).replace(' ', '_'));
            e.printStackTrace();
            rc = 1;
        } finally {
            t.closeAll();
            t.pubGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            t.subGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        System.exit(rc);
    }

    private static String usage() {
        return """
                usage: LoadTool --scenario fanin|fanout|qos1|qos2|idle [options]
                  --host H          broker host (127.0.0.1)
                  --port P          broker port (1883)
                  --clients N       publishers (fanin, qos1, qos2), subscribers (fanout), connections (idle) (4)
                  --duration S      measured seconds (10)
                  --warmup S        seconds run before measuring (3)
                  --payload B       payload bytes, at least 16 (64)
                  --qos Q           QoS of fanin/fanout (0); qos1/qos2 imply theirs
                  --window W        inflight QoS 1/2 messages per publisher (20)
                  --threads T       load tool event loop threads for publishers, and as many for subscribers (1)
                  --pid PID         broker process (idle: memory from /proc/PID/status)
                  --jvm             the broker is a JVM: also measure heap used after GC via jcmd (idle)
                  --idle-subscribe  idle connections also subscribe to one topic each
                  --label NAME      broker name in the output
                  --rate R          fanin/fanout: publish at most R msgs/s in total (0 = full speed); the
                                    scenario is then reported as fanin-paced/fanout-paced
                """;
    }

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--host" -> o.host = args[++i];
                case "--port" -> o.port = Integer.parseInt(args[++i]);
                case "--scenario" -> o.scenario = args[++i];
                case "--clients" -> o.clients = Integer.parseInt(args[++i]);
                case "--duration" -> o.duration = Integer.parseInt(args[++i]);
                case "--warmup" -> o.warmup = Integer.parseInt(args[++i]);
                case "--payload" -> o.payload = Integer.parseInt(args[++i]);
                case "--qos" -> o.qos = Integer.parseInt(args[++i]);
                case "--window" -> o.window = Integer.parseInt(args[++i]);
                case "--threads" -> o.threads = Integer.parseInt(args[++i]);
                case "--pid" -> o.pid = Long.parseLong(args[++i]);
                case "--jvm" -> o.jvm = true;
                case "--idle-subscribe" -> o.idleSubscribe = true;
                case "--label" -> o.label = args[++i];
                case "--rate" -> o.rate = Double.parseDouble(args[++i]);
                case "-h", "--help" -> {
                    System.out.print(usage());
                    return null;
                }
                default -> throw new IllegalArgumentException("unknown argument " + a + "\n" + usage());
            }
        }
        if (o.payload < Wire.HEADER) {
            throw new IllegalArgumentException("--payload must be at least " + Wire.HEADER);
        }
        return o;
    }

    // ------------------------------------------------------------------------------------------------ connections

    private ChannelFuture open(BenchClient c, boolean linger0, boolean subscriber) {
        Bootstrap b = new Bootstrap().group(subscriber ? subGroup : pubGroup).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new MqttDecoder(1024 * 1024), MqttEncoder.INSTANCE, c);
                    }
                });
        if (linger0) {
            b.option(ChannelOption.SO_LINGER, 0); // no TIME_WAIT for thousands of idle connections
        }
        synchronized (all) {
            all.add(c);
        }
        ChannelFuture f = b.connect(o.host, o.port);
        f.addListener(x -> {
            if (!x.isSuccess()) {
                c.connected.completeExceptionally(x.cause());
            }
        });
        return f;
    }

    private BenchClient connect(String role, int i) throws Exception {
        BenchClient c = new BenchClient("bench-" + run + "-" + role + i);
        open(c, false, role.equals("sub"));
        return c.connected.get(15, TimeUnit.SECONDS);
    }

    private void closeAll() {
        List<BenchClient> l;
        synchronized (all) {
            l = new ArrayList<>(all);
        }
        for (BenchClient c : l) {
            c.running = false;
            Channel ch = c.channel;
            if (ch != null) {
                ch.close();
            }
        }
        for (BenchClient c : l) {
            Channel ch = c.channel;
            if (ch != null) {
                ch.closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ scenarios

    private static long sum(List<BenchClient> l, java.util.function.ToLongFunction<BenchClient> f) {
        long s = 0;
        for (BenchClient c : l) {
            s += f.applyAsLong(c);
        }
        return s;
    }

    private static void setRecording(List<BenchClient> l, boolean on) {
        for (BenchClient c : l) {
            c.recording = on;
        }
    }

    private static Histogram merged(List<BenchClient> l, boolean ack) throws Exception {
        Histogram h = new Histogram(TimeUnit.MINUTES.toMicros(30), 2);
        for (BenchClient c : l) {
            Histogram x = c.onLoop(() -> (ack ? c.ackLatency : c.latency).copy());
            h.add(x);
        }
        return h;
    }

    private static String lat(String prefix, Histogram h) {
        if (h.getTotalCount() == 0) {
            return prefix + "_p50_us=- " + prefix + "_p99_us=-";
        }
        return prefix + "_p50_us=" + h.getValueAtPercentile(50) + " " + prefix + "_p99_us="
                + h.getValueAtPercentile(99);
    }

    private static String rate(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    /** N publishers, each on its own topic, to one subscriber on a wildcard. */
    private String fanin() throws Exception {
        int qos = Math.max(0, o.qos);
        BenchClient sub = connect("sub", 0);
        sub.subscribe("bench/" + run + "/+", qos).get(10, TimeUnit.SECONDS);
        List<BenchClient> pubs = new ArrayList<>();
        for (int i = 0; i < o.clients; i++) {
            pubs.add(connect("pub", i));
        }
        for (int i = 0; i < pubs.size(); i++) {
            pubs.get(i).startPublishing("bench/" + run + "/" + i, i, qos, o.payload, o.window, o.rate / o.clients);
        }
        List<BenchClient> subs = List.of(sub);
        Measure m = measure(pubs, subs);
        return "scenario=fanin" + paced() + " broker=" + o.label + " publishers=" + o.clients + " payload=" + o.payload
                + " qos=" + qos + " recv_msgs_s=" + rate(m.recvRate) + " sent_msgs_s=" + rate(m.sentRate)
                + " " + lat("lat", merged(subs, false));
    }

    /** One publisher to N subscribers of its topic. */
    private String fanout() throws Exception {
        int qos = Math.max(0, o.qos);
        String topic = "bench/" + run + "/fanout";
        List<BenchClient> subs = new ArrayList<>();
        for (int i = 0; i < o.clients; i++) {
            BenchClient s = connect("sub", i);
            s.subscribe(topic, qos).get(10, TimeUnit.SECONDS);
            subs.add(s);
        }
        BenchClient pub = connect("pub", 0);
        pub.startPublishing(topic, 0, qos, o.payload, o.window, o.rate);
        List<BenchClient> pubs = List.of(pub);
        Measure m = measure(pubs, subs);
        return "scenario=fanout" + paced() + " broker=" + o.label + " subscribers=" + o.clients + " payload=" + o.payload + " qos="
                + qos + " recv_msgs_s=" + rate(m.recvRate) + " sent_msgs_s=" + rate(m.sentRate)
                + " per_sub_msgs_s=" + rate(m.recvRate / o.clients) + " " + lat("lat", merged(subs, false));
    }

    private String paced() {
        return o.rate > 0 ? "-paced rate=" + rate(o.rate) : "";
    }

    private record Measure(double recvRate, double sentRate, double ackRate) {
    }

    /** Warm-up, then counts over the measured duration; stops the publishers at the end. */
    private Measure measure(List<BenchClient> pubs, List<BenchClient> subs) throws InterruptedException {
        Thread.sleep(o.warmup * 1000L);
        List<BenchClient> both = new ArrayList<>(pubs);
        both.addAll(subs);
        setRecording(both, true);
        long r0 = sum(subs, c -> c.received);
        long s0 = sum(pubs, c -> c.sent);
        long a0 = sum(pubs, c -> c.acked);
        long t0 = System.nanoTime();
        Thread.sleep(o.duration * 1000L);
        long r1 = sum(subs, c -> c.received);
        long s1 = sum(pubs, c -> c.sent);
        long a1 = sum(pubs, c -> c.acked);
        long t1 = System.nanoTime();
        setRecording(both, false);
        for (BenchClient p : pubs) {
            p.stopPublishing();
        }
        double secs = (t1 - t0) / 1e9;
        return new Measure((r1 - r0) / secs, (s1 - s0) / secs, (a1 - a0) / secs);
    }

    /**
     * N publishers at full speed with a window of inflight QoS 1/2 messages, one subscriber on a wildcard with the
     * same QoS. Every acknowledged message (PUBACK, or PUBREC for QoS 2) must reach the subscriber.
     */
    private String qos(int qos) throws Exception {
        BenchClient sub = connect("sub", 0).trackSeen(o.clients);
        sub.subscribe("bench/" + run + "/+", qos).get(10, TimeUnit.SECONDS);
        List<BenchClient> pubs = new ArrayList<>();
        for (int i = 0; i < o.clients; i++) {
            pubs.add(connect("pub", i));
        }
        for (int i = 0; i < pubs.size(); i++) {
            pubs.get(i).startPublishing("bench/" + run + "/" + i, i, qos, o.payload, o.window);
        }
        List<BenchClient> subs = List.of(sub);
        Measure m = measure(pubs, subs);
        // let the open flows finish: every publisher's window drains
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (BenchClient p : pubs) {
            while (p.onLoop(() -> p.inflight) > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        long acked = 0;
        for (BenchClient p : pubs) {
            acked += p.onLoop(() -> p.ackedSeqs.cardinality());
        }
        // wait for the subscriber to get everything acknowledged, or until it makes no progress for 10 s
        long last = -1;
        long lastChange = System.nanoTime();
        long drainStart = System.nanoTime();
        while (true) {
            long got = sub.onLoop(() -> {
                long n = 0;
                for (int i = 0; i < pubs.size(); i++) {
                    n += sub.seen(i).cardinality();
                }
                return n;
            });
            if (got >= acked) {
                break;
            }
            if (got != last) {
                last = got;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(10)) {
                break;
            }
            Thread.sleep(100);
        }
        double drainSecs = (System.nanoTime() - drainStart) / 1e9;
        long lost = 0;
        for (int i = 0; i < pubs.size(); i++) {
            BenchClient p = pubs.get(i);
            int idx = i;
            BitSet a = p.onLoop(() -> (BitSet) p.ackedSeqs.clone());
            BitSet s = sub.onLoop(() -> (BitSet) sub.seen(idx).clone());
            a.andNot(s);
            lost += a.cardinality();
        }
        long dups = sub.onLoop(() -> sub.duplicates);
        long received = sub.onLoop(() -> sub.received);
        return "scenario=qos" + qos + " broker=" + o.label + " publishers=" + o.clients + " window=" + o.window
                + " payload=" + o.payload + " acked_msgs_s=" + rate(m.ackRate) + " recv_msgs_s=" + rate(m.recvRate)
                + " acked=" + acked + " received=" + received + " lost=" + lost + " dups=" + dups
                + " drain_s=" + String.format(Locale.ROOT, "%.1f", drainSecs)
                + " " + lat("e2e", merged(subs, false)) + " " + lat("ack", merged(pubs, true));
    }

    /** Opens N idle connections and reports the broker's memory growth per connection. */
    private String idle() throws Exception {
        if (o.pid <= 0) {
            throw new IllegalArgumentException("idle needs --pid of the broker");
        }
        Mem before = mem();
        Semaphore sem = new Semaphore(256);
        List<CompletableFuture<BenchClient>> fs = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < o.clients; i++) {
            sem.acquire();
            BenchClient c = new BenchClient("bench-" + run + "-idle" + i);
            open(c, true, false);
            int n = i;
            CompletableFuture<BenchClient> f = c.connected.thenCompose(x -> o.idleSubscribe
                    ? x.subscribe("bench/" + run + "/idle/" + n, 1) : CompletableFuture.completedFuture(x));
            f.whenComplete((x, e) -> sem.release());
            fs.add(f);
        }
        int failed = 0;
        for (CompletableFuture<BenchClient> f : fs) {
            try {
                f.get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                if (failed++ == 0) {
                    System.err.println("idle connection failed: " + e);
                }
            }
        }
        double connSecs = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(2000);
        Mem after = mem();
        int ok = o.clients - failed;
        double rssPer = ok == 0 ? 0 : (after.rssKb - before.rssKb) / (double) ok;
        String heap = "";
        if (o.jvm) {
            double heapPer = ok == 0 ? 0 : (after.heapKb - before.heapKb) / (double) ok;
            heap = " heap_before_mb=" + after(before.heapKb) + " heap_after_mb=" + after(after.heapKb)
                    + " heap_per_conn_kb=" + String.format(Locale.ROOT, "%.2f", heapPer);
        }
        return "scenario=idle broker=" + o.label + " conns=" + ok + " failed=" + failed
                + " connect_per_s=" + rate(ok / connSecs)
                + " rss_before_mb=" + after(before.rssKb) + " rss_after_mb=" + after(after.rssKb)
                + " rss_per_conn_kb=" + String.format(Locale.ROOT, "%.2f", rssPer) + heap;
    }

    private static String after(long kb) {
        return String.format(Locale.ROOT, "%.1f", kb / 1024.0);
    }

    private record Mem(long rssKb, long heapKb) {
    }

    private Mem mem() throws Exception {
        long heap = -1;
        if (o.jvm) {
            jcmd("GC.run");
            Thread.sleep(500);
            String info = jcmd("GC.heap_info");
            Matcher m = Pattern.compile("used (\\d+)K").matcher(info);
            if (m.find()) {
                heap = Long.parseLong(m.group(1));
            }
        }
        long rss = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + o.pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return new Mem(rss, heap);
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("jcmd", String.valueOf(o.pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }
}
