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
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
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
    /** The clients' TLS context (null without --tls). */
    private final SslContext ssl;

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
        /** 3 (MQTT 3.1.1) or 5. */
        int mqtt = 3;
        /** Messages of all publishers together; 0: run for warm-up + duration. */
        long messages;
        /** Filter of the (fast) subscriber of fanin, qos1/qos2, neighbour and the persistent scenarios. */
        String filter = "bench/#";
        /** Seconds without a delivery after which the tool stops waiting for the rest of the messages. */
        int drain = 5;
        /** Seconds a fixed-count run may take before the tool stops waiting for its publishers. */
        int timeout = 600;
        int slowSubs = 1;
        double slowRate = 50;
        int subscribers = 1;
        double reconnectEvery = 2;
        int offlineMs = 500;
        long sessionExpiry = 300;
        /** Connect over TLS, trusting the CA certificates of {@link #caFile} (PEM). */
        boolean tls;
        String caFile;
        /** The one TLS version the clients offer: TLSv1.3 or TLSv1.2. */
        String tlsVersion = "TLSv1.3";
        /** tls-connect: connections opened at the same time (each one after the other on its connector). */
        int parallel = 4;
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
        ssl = o.tls ? clientContext(o) : null;
    }

    /**
     * The clients' TLS context: the JDK provider (the same for every broker measured), trusting only the CA of
     * {@code --ca}, offering only {@code --tls-version} with the JDK's default cipher suites and groups. The chain is
     * verified; the host name is not (the engines are made without a peer host, see {@link #open}).
     */
    private static SslContext clientContext(Options o) {
        if (o.caFile == null) {
            throw new IllegalArgumentException("--tls needs --ca FILE (PEM certificates of the CA to trust)");
        }
        try {
            return SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                    .trustManager(new java.io.File(o.caFile)).protocols(o.tlsVersion).build();
        } catch (javax.net.ssl.SSLException e) {
            throw new IllegalArgumentException("TLS context: " + e.getMessage(), e);
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
                case "neighbour" -> t.neighbour();
                case "qos1-persistent" -> t.persistent(o.qos < 0 ? 1 : o.qos);
                case "qos2-persistent" -> t.persistent(2);
                case "connect" -> t.connectRate();
                default -> throw new IllegalArgumentException("unknown scenario " + o.scenario);
            };
            if (o.tls) {
                // over TLS every scenario is reported as tls-<scenario>, with the version and suite negotiated
                line = line.replaceFirst("^scenario=", "scenario=tls-") + t.tlsInfo();
            }
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
                usage: LoadTool --scenario fanin|fanout|qos1|qos2|idle|neighbour|qos1-persistent|qos2-persistent|connect
                                [options]
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
                  --rate R          fanin/fanout/neighbour: publish at most R msgs/s in total (0 = full speed); the
                                    scenario is then reported as fanin-paced/fanout-paced/neighbour(-base)-paced
                  --mqtt 3|5        protocol: MQTT 3.1.1 (3) or 5.0 (5) (3)
                  --messages N      send N messages in all (split over the publishers), then wait for delivery;
                                    no warm-up, rates run from the first publish to the last receive. 0: run for
                                    --warmup + --duration seconds (0)
                  --filter F        filter of the (fast) subscriber: fanin, qos1/2, neighbour, *-persistent
                                    (bench/#)
                  --drain S         after publishing, wait for missing messages until none arrived for S s (5)
                  --timeout S       --messages: give up on the publishers after S s (600)
                  --slow-subs K     neighbour: slow subscribers on # (1); 0 = baseline, reported as neighbour-base
                  --slow-rate R     neighbour: messages/s a slow subscriber reads and acknowledges (50)
                  --subscribers N   *-persistent: persistent subscribers (1)
                  --reconnect-every S  *-persistent: each subscriber disconnects every S s (2); 0 = once, after
                                    the warm-up
                  --offline-ms M    *-persistent: milliseconds a subscriber stays disconnected (500)
                  --session-expiry S  *-persistent, MQTT 5: Session Expiry Interval in seconds (300)
                  --tls             connect over TLS (JDK provider); the scenario is reported as tls-<scenario>
                  --ca FILE         --tls: PEM certificates of the CA the broker's certificate must chain to
                  --tls-version V   --tls: TLSv1.3 or TLSv1.2, the only version offered (TLSv1.3)
                  --parallel N      connect: connections being opened at the same time (4)
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
                case "--mqtt" -> o.mqtt = Integer.parseInt(args[++i]);
                case "--messages" -> o.messages = Long.parseLong(args[++i]);
                case "--filter" -> o.filter = args[++i];
                case "--drain" -> o.drain = Integer.parseInt(args[++i]);
                case "--timeout" -> o.timeout = Integer.parseInt(args[++i]);
                case "--slow-subs" -> o.slowSubs = Integer.parseInt(args[++i]);
                case "--slow-rate" -> o.slowRate = Double.parseDouble(args[++i]);
                case "--subscribers" -> o.subscribers = Integer.parseInt(args[++i]);
                case "--reconnect-every" -> o.reconnectEvery = Double.parseDouble(args[++i]);
                case "--offline-ms" -> o.offlineMs = Integer.parseInt(args[++i]);
                case "--session-expiry" -> o.sessionExpiry = Long.parseLong(args[++i]);
                case "--tls" -> o.tls = true;
                case "--ca" -> o.caFile = args[++i];
                case "--tls-version" -> o.tlsVersion = args[++i];
                case "--parallel" -> o.parallel = Integer.parseInt(args[++i]);
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
        if (o.mqtt != 3 && o.mqtt != 5) {
            throw new IllegalArgumentException("--mqtt must be 3 or 5");
        }
        if (!o.tlsVersion.equals("TLSv1.3") && !o.tlsVersion.equals("TLSv1.2")) {
            throw new IllegalArgumentException("--tls-version must be TLSv1.3 or TLSv1.2");
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
                        addTls(ch);
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

    /**
     * With --tls: the TLS handler first in the pipeline. Made without a peer host and port, so that the JDK neither
     * looks up a cached session to resume nor offers one: every connection is a full handshake.
     */
    private void addTls(SocketChannel ch) {
        if (ssl == null) {
            return;
        }
        SslHandler h = ssl.newHandler(ch.alloc());
        if (negotiated == null) {
            h.handshakeFuture().addListener(f -> {
                if (f.isSuccess() && negotiated == null) {
                    javax.net.ssl.SSLSession s = h.engine().getSession();
                    java.security.cert.Certificate[] peer = s.getPeerCertificates();
                    negotiated = " tls=" + s.getProtocol() + " cipher=" + s.getCipherSuite() + " cert="
                            + (peer.length == 0 ? "-" : peer[0].getPublicKey().getAlgorithm());
                }
            });
        }
        ch.pipeline().addLast("tls", h);
    }

    /** What the first TLS handshake negotiated: {@code tls=<version> cipher=<suite> cert=<key algorithm>}. */
    private volatile String negotiated;

    private String tlsInfo() {
        return negotiated == null ? " tls=-" : negotiated;
    }

    private BenchClient connect(String role, int i) throws Exception {
        BenchClient c = new BenchClient("bench-" + run + "-" + role + i).mqtt(o.mqtt);
        c.recording = o.messages > 0; // a fixed-count run has no warm-up: everything is measured
        open(c, false, !role.equals("pub"));
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
        sub.subscribe(o.filter, qos).get(10, TimeUnit.SECONDS);
        List<BenchClient> pubs = startPublishers(qos, o.rate / o.clients);
        List<BenchClient> subs = List.of(sub);
        long cpu0 = o.pid > 0 ? cpuTicks(o.pid) : 0;
        long self = ProcessHandle.current().pid();
        java.util.Map<String, Long> own0 = threadTicks(self);
        long w0 = System.nanoTime();
        Measure m = measure(pubs, subs);
        double wall = (System.nanoTime() - w0) / 1e9;
        java.util.Map<String, Long> own1 = threadTicks(self);
        // the load tool's own threads over warm-up and measured period: a subscriber thread near 100 % means the
        // tool, not the broker, sets the delivered rate
        String cpu = " load_sub_cpu_pct=" + rate(100 * ticksToSecs(own1.getOrDefault("load-sub", 0L)
                - own0.getOrDefault("load-sub", 0L)) / wall) + " load_pub_cpu_pct=" + rate(100 * ticksToSecs(
                own1.getOrDefault("load-pub", 0L) - own0.getOrDefault("load-pub", 0L)) / wall);
        if (o.pid > 0) {
            // the broker's CPU over warm-up and measured period (both at full speed)
            double secs = ticksToSecs(cpuTicks(o.pid) - cpu0);
            cpu += " broker_cpu_pct=" + rate(100 * secs / wall);
        }
        Delivery d = delivery(pubs, subs);
        return "scenario=fanin" + paced() + " broker=" + o.label + common() + " publishers=" + o.clients
                + " payload=" + o.payload + " qos=" + qos + " recv_msgs_s=" + rate(m.recvRate)
                + " sent_msgs_s=" + rate(m.sentRate) + d + cpu + " " + lat("lat", merged(subs, false));
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
        List<BenchClient> pubs = List.of(pub);
        perPublisher(pubs);
        pub.startPublishing(topic, 0, qos, o.payload, o.window, o.rate);
        Measure m = measure(pubs, subs);
        Delivery d = delivery(pubs, subs);
        return "scenario=fanout" + paced() + " broker=" + o.label + common() + " subscribers=" + o.clients
                + " payload=" + o.payload + " qos=" + qos + " recv_msgs_s=" + rate(m.recvRate)
                + " sent_msgs_s=" + rate(m.sentRate) + " per_sub_msgs_s=" + rate(m.recvRate / o.clients) + d
                + " " + lat("lat", merged(subs, false));
    }

    private String paced() {
        return o.rate > 0 ? "-paced rate=" + rate(o.rate) : "";
    }

    /**
     * Rates over the measured period; with {@code --pid} also the CPU time (user + system, all threads) the broker and
     * the load tool spent in it, in seconds (0 without a pid or with {@code --messages}).
     */
    private record Measure(double recvRate, double sentRate, double ackRate, double secs, double brokerCpuSecs,
                           double loadCpuSecs) {
        Measure(double recvRate, double sentRate, double ackRate) {
            this(recvRate, sentRate, ackRate, 0, 0, 0);
        }

        /**
         * Broker and load tool CPU microseconds per acknowledged message over the measured period: on a CPU-bound
         * machine a steadier figure than the rate, which varies with whatever else runs.
         */
        String cpuPerAcked() {
            double acked = ackRate * secs;
            if (brokerCpuSecs <= 0 || acked <= 0) {
                return "";
            }
            return " broker_cpu_us_msg=" + String.format(Locale.ROOT, "%.2f", brokerCpuSecs * 1e6 / acked)
                    + " load_cpu_us_msg=" + String.format(Locale.ROOT, "%.2f", loadCpuSecs * 1e6 / acked);
        }
    }

    /**
     * Warm-up, then counts over the measured duration; stops the publishers at the end. With {@code --messages},
     * see {@link #measureCount} instead.
     */
    private Measure measure(List<BenchClient> pubs, List<BenchClient> subs) throws Exception {
        if (o.messages > 0) {
            return measureCount(pubs, subs);
        }
        Thread.sleep(o.warmup * 1000L);
        List<BenchClient> both = new ArrayList<>(pubs);
        both.addAll(subs);
        setRecording(both, true);
        long r0 = sum(subs, c -> c.received);
        long s0 = sum(pubs, c -> c.sent);
        long a0 = sum(pubs, c -> c.acked);
        long b0 = o.pid > 0 ? cpuTicks(o.pid) : 0;
        long l0 = cpuTicks(ProcessHandle.current().pid());
        long t0 = System.nanoTime();
        Thread.sleep(o.duration * 1000L);
        long r1 = sum(subs, c -> c.received);
        long s1 = sum(pubs, c -> c.sent);
        long a1 = sum(pubs, c -> c.acked);
        long b1 = o.pid > 0 ? cpuTicks(o.pid) : 0;
        long l1 = cpuTicks(ProcessHandle.current().pid());
        long t1 = System.nanoTime();
        setRecording(both, false);
        for (BenchClient p : pubs) {
            p.stopPublishing();
        }
        double secs = (t1 - t0) / 1e9;
        return new Measure((r1 - r0) / secs, (s1 - s0) / secs, (a1 - a0) / secs, secs, ticksToSecs(b1 - b0),
                ticksToSecs(l1 - l0));
    }

    /**
     * Connects {@link Options#clients} publishers, each publishing on {@code bench/<run>/<i>} with the scenario's QoS,
     * payload and window, at most {@code ratePerPublisher} msgs/s (0 = full speed).
     */
    private List<BenchClient> startPublishers(int qos, double ratePerPublisher) throws Exception {
        List<BenchClient> pubs = new ArrayList<>();
        for (int i = 0; i < o.clients; i++) {
            pubs.add(connect("pub", i));
        }
        perPublisher(pubs);
        for (int i = 0; i < pubs.size(); i++) {
            pubs.get(i).startPublishing("bench/" + run + "/" + i, i, qos, o.payload, o.window, ratePerPublisher);
        }
        return pubs;
    }

    /**
     * N publishers at full speed with a window of inflight QoS 1/2 messages, one subscriber on a wildcard with the
     * same QoS. Every acknowledged message (PUBACK, or PUBREC for QoS 2) must reach the subscriber.
     */
    private String qos(int qos) throws Exception {
        BenchClient sub = connect("sub", 0).trackSeen(o.clients);
        sub.subscribe(o.filter, qos).get(10, TimeUnit.SECONDS);
        List<BenchClient> pubs = startPublishers(qos, 0);
        List<BenchClient> subs = List.of(sub);
        Measure m = measure(pubs, subs);
        AckedLoss l = ackedLoss(pubs, sub);
        return "scenario=qos" + qos + " broker=" + o.label + common() + " publishers=" + o.clients
                + " window=" + o.window + " payload=" + o.payload + " acked_msgs_s=" + rate(m.ackRate)
                + " recv_msgs_s=" + rate(m.recvRate) + l + " " + lat("e2e", merged(subs, false))
                + " " + lat("ack", merged(pubs, true));
    }

    /** Counts of {@link #ackedLoss}. */
    private record AckedLoss(long acked, long received, long lost, long dups, double drainSecs) {
        @Override
        public String toString() {
            return " acked=" + acked + " received=" + received + " lost=" + lost + " loss_pct=" + pct(lost, acked)
                    + " dups=" + dups + " drain_s=" + String.format(Locale.ROOT, "%.1f", drainSecs);
        }
    }

    /**
     * After the publishers stopped: waits for their windows to drain, then for {@code sub} to get every
     * acknowledged message (PUBACK, or PUBREC for QoS 2; QoS 0: every message sent), or until it makes no progress
     * for 10 s, and counts the acknowledged messages it never got. {@code sub} must track what it saw.
     */
    private AckedLoss ackedLoss(List<BenchClient> pubs, BenchClient sub) throws Exception {
        // let the open flows finish: every publisher's window drains
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (BenchClient p : pubs) {
            while (p.onLoop(() -> p.inflight) > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        long acked = 0;
        for (BenchClient p : pubs) {
            acked += p.onLoop(() -> acknowledged(p).cardinality());
        }
        // wait for the subscriber to get everything acknowledged, or until it makes no progress for --drain s
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
            } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(o.drain)) {
                break;
            }
            Thread.sleep(100);
        }
        double drainSecs = (System.nanoTime() - drainStart) / 1e9;
        long lost = 0;
        for (int i = 0; i < pubs.size(); i++) {
            BenchClient p = pubs.get(i);
            int idx = i;
            BitSet a = p.onLoop(() -> acknowledged(p));
            BitSet s = sub.onLoop(() -> (BitSet) sub.seen(idx).clone());
            a.andNot(s);
            lost += a.cardinality();
        }
        long dups = sub.onLoop(() -> sub.duplicates);
        long received = sub.onLoop(() -> sub.received);
        return new AckedLoss(acked, received, lost, dups, drainSecs);
    }

    /** A copy of the sequence numbers the broker acknowledged to {@code p}; QoS 0: all it sent. On p's loop. */
    private static BitSet acknowledged(BenchClient p) {
        if (p.ackedSeqs != null) {
            return (BitSet) p.ackedSeqs.clone();
        }
        BitSet all = new BitSet();
        all.set(0, (int) p.sent);
        return all;
    }

    // ------------------------------------------------------------------------------------------------ loss

    /** Fields every scenario line with a protocol has: the MQTT version, and the message count if fixed. */
    private String common() {
        return " mqtt=" + o.mqtt + (o.messages > 0 ? " messages=" + o.messages : "");
    }

    private static String pct(long part, long whole) {
        return whole <= 0 ? "-" : String.format(Locale.ROOT, "%.2f", 100.0 * part / whole);
    }

    /** With {@code --messages N}: splits N over the publishers (call before they start). */
    private void perPublisher(List<BenchClient> pubs) {
        if (o.messages <= 0) {
            return;
        }
        long each = o.messages / pubs.size();
        long rest = o.messages % pubs.size();
        for (int i = 0; i < pubs.size(); i++) {
            pubs.get(i).limit(each + (i < rest ? 1 : 0));
        }
    }

    private static long total(List<BenchClient> l, java.util.function.ToLongFunction<BenchClient> f)
            throws Exception {
        long s = 0;
        for (BenchClient c : l) {
            s += c.onLoop(() -> f.applyAsLong(c));
        }
        return s;
    }

    /**
     * With {@code --messages}: runs until every publisher has sent its share (and for QoS 1/2 got every flow
     * completed) and the subscribers received what they will receive ({@link #drainCount}). Latencies are recorded
     * from the first message on. Each rate runs from the first publish to the last send, acknowledgement or receipt.
     */
    private Measure measureCount(List<BenchClient> pubs, List<BenchClient> subs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.timeout);
        for (BenchClient p : pubs) {
            while (!p.onLoop(p::finished)) {
                if (System.nanoTime() > deadline) {
                    System.err.println("publisher " + p.clientId + " did not finish within " + o.timeout + " s");
                    break;
                }
                Thread.sleep(20);
            }
        }
        for (BenchClient p : pubs) {
            p.stopPublishing();
        }
        long sent = total(pubs, c -> c.sent);
        drainCount(subs, sent * subs.size());
        long t0 = Long.MAX_VALUE;
        long lastSent = 0;
        long lastAck = 0;
        long lastRecv = 0;
        for (BenchClient p : pubs) {
            t0 = Math.min(t0, p.firstSentNanos);
            lastSent = Math.max(lastSent, p.lastSentNanos);
            lastAck = Math.max(lastAck, p.lastAckNanos);
        }
        for (BenchClient c : subs) {
            lastRecv = Math.max(lastRecv, c.lastRecvNanos);
        }
        return new Measure(perSec(total(subs, c -> c.received), t0, lastRecv), perSec(sent, t0, lastSent),
                perSec(total(pubs, c -> c.acked), t0, lastAck));
    }

    private static double perSec(long n, long t0, long t1) {
        return t1 <= t0 ? 0 : n / ((t1 - t0) / 1e9);
    }

    /**
     * Waits until {@code subs} together received {@code expected} messages, or received nothing new for
     * {@code --drain} seconds (at most 120 s in all). Returns the seconds waited.
     */
    private double drainCount(List<BenchClient> subs, long expected) throws Exception {
        long start = System.nanoTime();
        long last = -1;
        long lastChange = start;
        while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(120)) {
            long got = sum(subs, c -> c.received);
            if (got >= expected) {
                break;
            }
            if (got != last) {
                last = got;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(o.drain)) {
                break;
            }
            Thread.sleep(50);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** What reached the subscribers of fanin/fanout: each subscriber should get every message sent. */
    private record Delivery(long sent, long expected, long received, double drainSecs) {
        @Override
        public String toString() {
            long lost = expected - received;
            return " sent=" + sent + " expected=" + expected + " received=" + received + " lost=" + lost
                    + " loss_pct=" + pct(lost, expected) + " drain_s=" + String.format(Locale.ROOT, "%.1f", drainSecs);
        }
    }

    /**
     * After the publishers stopped: waits for the subscribers to receive the rest ({@link #drainCount}) and counts
     * over the whole run, warm-up included, what was sent and what was received. A broker may drop QoS 0 messages;
     * they show up here as lost.
     */
    private Delivery delivery(List<BenchClient> pubs, List<BenchClient> subs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (BenchClient p : pubs) {
            while (p.onLoop(() -> p.inflight) > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        long sent = total(pubs, c -> c.sent);
        long expected = sent * subs.size();
        double drain = o.messages > 0 ? 0 : drainCount(subs, expected);
        return new Delivery(sent, expected, total(subs, c -> c.received), drain);
    }

    // ------------------------------------------------------------------------------------------------ neighbour

    /**
     * N publishers with a window of QoS 1 (or --qos) messages, one fast subscriber on {@code --filter}, and
     * {@code --slow-subs} slow subscribers on {@code #} that read and acknowledge {@code --slow-rate} messages/s
     * each: how much one slow but live subscriber costs the others. Reports the fast subscriber's rate, latency and
     * loss (acknowledged messages it never got: must be 0) and what the slow ones got. With {@code --slow-subs 0}
     * it is the baseline, reported as {@code neighbour-base}.
     */
    private String neighbour() throws Exception {
        int qos = o.qos < 0 ? 1 : o.qos;
        BenchClient fast = connect("sub", 0).trackSeen(o.clients);
        fast.subscribe(o.filter, qos).get(10, TimeUnit.SECONDS);
        List<BenchClient> slow = new ArrayList<>();
        for (int i = 0; i < o.slowSubs; i++) {
            BenchClient s = connect("slow", i);
            s.subscribe("#", 1).get(10, TimeUnit.SECONDS);
            s.startSlow(o.slowRate);
            slow.add(s);
        }
        List<BenchClient> pubs = startPublishers(qos, o.rate / o.clients);
        List<BenchClient> subs = List.of(fast);
        Measure m = measure(pubs, subs);
        AckedLoss l = ackedLoss(pubs, fast);
        String slowPart = o.slowSubs == 0 ? "" : " slow_rate=" + rate(o.slowRate)
                + " slow_received=" + total(slow, c -> c.received) + " slow_acked=" + total(slow, c -> c.slowDone);
        return "scenario=neighbour" + (o.slowSubs == 0 ? "-base" : "") + paced() + " broker=" + o.label + common()
                + " publishers=" + o.clients + " window=" + o.window + " payload=" + o.payload + " qos=" + qos
                + " slow_subs=" + o.slowSubs + slowPart + " acked_msgs_s=" + rate(m.ackRate)
                + " recv_msgs_s=" + rate(m.recvRate) + m.cpuPerAcked() + l + " " + lat("e2e", merged(subs, false))
                + " " + lat("ack", merged(pubs, true));
    }

    // ------------------------------------------------------------------------------------------------ persistent

    /**
     * Like qos1/qos2, but the subscribers ({@code --subscribers}) have persistent sessions (3.1.1: Clean Session 0;
     * 5.0: Session Expiry Interval {@code --session-expiry}) and disconnect every {@code --reconnect-every} seconds
     * (0: once, after the warm-up) for {@code --offline-ms}, then reconnect without subscribing again. The broker
     * must queue what arrives meanwhile and resend what was unacknowledged [MQTT-4.4.0-1]: every acknowledged
     * message must reach every subscriber; resent ones count as duplicates. The sessions are removed at the end.
     */
    private String persistent(int qos) throws Exception {
        BenchClient[] subs = new BenchClient[o.subscribers];
        try {
            return persistentRun(qos, subs);
        } finally {
            for (BenchClient s : subs) {
                if (s != null) {
                    endSession(s);
                }
            }
        }
    }

    private String persistentRun(int qos, BenchClient[] subs) throws Exception {
        for (int i = 0; i < subs.length; i++) {
            BenchClient s = new BenchClient("bench-" + run + "-psub" + i).mqtt(o.mqtt)
                    .persistent(true, o.sessionExpiry).trackSeen(o.clients);
            s.recording = o.messages > 0;
            open(s, false, true);
            subs[i] = s.connected.get(15, TimeUnit.SECONDS);
            s.subscribe(o.filter, qos).get(10, TimeUnit.SECONDS);
        }
        List<BenchClient> pubs = startPublishers(qos, 0);
        int reconnects = 0;
        int sessionLost = 0;
        long every = (long) (o.reconnectEvery * 1e9);
        Measure m;
        if (o.messages > 0) {
            long t0 = System.nanoTime();
            long next = t0 + (every > 0 ? every : TimeUnit.MILLISECONDS.toNanos(500));
            boolean once = every <= 0;
            while (!allFinished(pubs) && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(o.timeout)) {
                if (System.nanoTime() >= next && !(once && reconnects > 0)) {
                    sessionLost += reconnectAll(subs);
                    reconnects++;
                    next = System.nanoTime() + every;
                }
                Thread.sleep(20);
            }
            m = measureCount(pubs, List.of(subs));
        } else {
            Thread.sleep(o.warmup * 1000L);
            List<BenchClient> now = List.of(subs);
            setRecording(now, true);
            setRecording(pubs, true);
            long r0 = sum(now, c -> c.received);
            long a0 = sum(pubs, c -> c.acked);
            long t0 = System.nanoTime();
            long end = t0 + TimeUnit.SECONDS.toNanos(o.duration);
            long next = every > 0 ? t0 + every : t0;
            while (System.nanoTime() < end) {
                if (System.nanoTime() >= next) {
                    sessionLost += reconnectAll(subs);
                    reconnects++;
                    next = every > 0 ? next + every : Long.MAX_VALUE;
                }
                Thread.sleep(Math.max(1, Math.min(20, (Math.min(end, next) - System.nanoTime()) / 1_000_000)));
            }
            List<BenchClient> after = List.of(subs);
            long r1 = sum(after, c -> c.received);
            long a1 = sum(pubs, c -> c.acked);
            long t1 = System.nanoTime();
            setRecording(after, false);
            setRecording(pubs, false);
            for (BenchClient p : pubs) {
                p.stopPublishing();
            }
            double secs = (t1 - t0) / 1e9;
            m = new Measure((r1 - r0) / secs, 0, (a1 - a0) / secs);
        }
        long acked = 0;
        long received = 0;
        long lost = 0;
        long dups = 0;
        double drain = 0;
        for (BenchClient s : subs) {
            AckedLoss l = ackedLoss(pubs, s);
            acked = l.acked;
            received += l.received;
            lost += l.lost;
            dups += l.dups;
            drain += l.drainSecs;
        }
        List<BenchClient> all = List.of(subs);
        return "scenario=qos" + qos + "-persistent broker=" + o.label + common() + " publishers=" + o.clients
                + " subscribers=" + subs.length + " window=" + o.window + " payload=" + o.payload
                + " reconnect_every_s=" + o.reconnectEvery + " offline_ms=" + o.offlineMs
                + " reconnects=" + reconnects + " offline_s_avg=" + String.format(Locale.ROOT, "%.2f",
                        reconnects == 0 ? 0 : offlineNanos / 1e9 / reconnects / subs.length)
                + " session_lost=" + sessionLost
                + " acked_msgs_s=" + rate(m.ackRate) + " recv_msgs_s=" + rate(m.recvRate)
                + " acked=" + acked + " received=" + received + " lost=" + lost
                + " loss_pct=" + pct(lost, acked * subs.length) + " dups=" + dups
                + " drain_s=" + String.format(Locale.ROOT, "%.1f", drain)
                + " " + lat("e2e", merged(all, false)) + " " + lat("ack", merged(pubs, true));
    }

    private static boolean allFinished(List<BenchClient> pubs) throws Exception {
        for (BenchClient p : pubs) {
            if (!p.onLoop(p::finished)) {
                return false;
            }
        }
        return true;
    }

    /** Sum over reconnections of the time from DISCONNECT to the new CONNACK, per subscriber. */
    private long offlineNanos;

    /**
     * Disconnects every subscriber ({@link BenchClient#disconnect}), waits {@code --offline-ms} once all
     * connections are closed, and connects each again to its session with a new {@link BenchClient} that takes over
     * what the old one saw. Returns how many found no session (CONNACK Session Present 0).
     */
    private int reconnectAll(BenchClient[] subs) throws Exception {
        for (BenchClient s : subs) {
            s.disconnect();
        }
        long t = System.nanoTime();
        for (BenchClient s : subs) {
            s.channel.closeFuture().await(10, TimeUnit.SECONDS);
        }
        Thread.sleep(o.offlineMs);
        int lostSessions = 0;
        for (int i = 0; i < subs.length; i++) {
            BenchClient old = subs[i];
            BenchClient nu = new BenchClient(old.clientId).mqtt(o.mqtt).persistent(true, o.sessionExpiry);
            old.onLoop(() -> {
                nu.takeOver(old);
                return null;
            });
            open(nu, false, true);
            nu.connected.get(15, TimeUnit.SECONDS);
            offlineNanos += System.nanoTime() - t;
            subs[i] = nu;
            if (!nu.sessionPresent) {
                lostSessions++;
            }
        }
        return lostSessions;
    }

    /** Removes the persistent session of {@code s}: disconnects it, then connects once with a clean session. */
    private void endSession(BenchClient s) {
        try {
            s.disconnect();
            if (s.channel != null) {
                s.channel.closeFuture().await(10, TimeUnit.SECONDS);
            }
            BenchClient clean = new BenchClient(s.clientId).mqtt(o.mqtt).persistent(false, 0);
            open(clean, false, true);
            clean.connected.get(15, TimeUnit.SECONDS);
            clean.disconnect();
            clean.channel.closeFuture().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("could not remove the session of " + s.clientId + ": " + e);
        }
    }

    // ------------------------------------------------------------------------------------------------ connect

    /**
     * {@code --parallel} connectors each open connections one after the other for {@code --warmup} +
     * {@code --duration} seconds: TCP connect (with {@code --tls} a full TLS handshake), CONNECT, CONNACK, DISCONNECT,
     * close, and wait until the connection is closed. Reports the connections completed per second of the measured
     * period, the time from the TCP connect to the CONNACK, and with {@code --pid} the broker's CPU time (user +
     * system, {@code /proc/<pid>/stat}) per completed connection over the measured period; the load tool's own CPU
     * time per connection beside it.
     */
    private String connectRate() throws Exception {
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean measuring = new java.util.concurrent.atomic.AtomicBoolean();
        Histogram[] lats = new Histogram[o.parallel];
        String[] firstError = new String[1];
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < o.parallel; k++) {
            Histogram h = new Histogram(TimeUnit.MINUTES.toMicros(1), 2);
            lats[k] = h;
            int connector = k;
            Thread t = new Thread(() -> {
                long n = 0;
                while (!stop.get()) {
                    boolean counted = measuring.get();
                    long t0 = System.nanoTime();
                    try {
                        connectOnce("bench-" + run + "-c" + connector + "-" + n++);
                        if (counted && measuring.get()) {
                            done.incrementAndGet();
                            h.recordValue(Math.min((System.nanoTime() - t0) / 1000, h.getHighestTrackableValue()));
                        }
                    } catch (Exception e) {
                        if (counted) {
                            failed.incrementAndGet();
                        }
                        synchronized (firstError) {
                            if (firstError[0] == null) {
                                firstError[0] = String.valueOf(e);
                                System.err.println("connection failed: " + e);
                            }
                        }
                    }
                }
            }, "connector-" + k);
            t.start();
            threads.add(t);
        }
        Thread.sleep(o.warmup * 1000L);
        java.util.Map<String, Long> th0 = o.pid > 0 ? threadTicks(o.pid) : java.util.Map.of();
        long b0 = o.pid > 0 ? cpuTicks(o.pid) : 0;
        long l0 = cpuTicks(ProcessHandle.current().pid());
        long t0 = System.nanoTime();
        measuring.set(true);
        Thread.sleep(o.duration * 1000L);
        measuring.set(false);
        long t1 = System.nanoTime();
        long b1 = o.pid > 0 ? cpuTicks(o.pid) : 0;
        java.util.Map<String, Long> th1 = o.pid > 0 ? threadTicks(o.pid) : java.util.Map.of();
        long l1 = cpuTicks(ProcessHandle.current().pid());
        long n = done.get();
        stop.set(true);
        for (Thread t : threads) {
            t.join(15_000);
        }
        Histogram h = new Histogram(TimeUnit.MINUTES.toMicros(1), 2);
        for (Histogram x : lats) {
            h.add(x);
        }
        double secs = (t1 - t0) / 1e9;
        String cpu = o.pid <= 0 || n == 0 ? "" : " broker_cpu_ms_per_conn="
                + String.format(Locale.ROOT, "%.3f", ticksToSecs(b1 - b0) * 1000 / n)
                + " broker_cpu_pct=" + rate(100 * ticksToSecs(b1 - b0) / secs);
        if (o.pid > 0 && n > 0) {
            // where the broker's CPU went, by thread name without its numbers (I/O threads, JIT compilers, GC ...)
            StringBuilder b = new StringBuilder();
            for (java.util.Map.Entry<String, Long> e : th1.entrySet()) {
                long d = e.getValue() - th0.getOrDefault(e.getKey(), 0L);
                if (d > 0) {
                    b.append(b.length() == 0 ? "" : ",").append(e.getKey()).append(':')
                            .append(String.format(Locale.ROOT, "%.2f", ticksToSecs(d) * 1000 / n));
                }
            }
            cpu += " broker_threads_ms_per_conn=" + (b.length() == 0 ? "-" : b);
        }
        String load = n == 0 ? "" : " load_cpu_ms_per_conn="
                + String.format(Locale.ROOT, "%.3f", ticksToSecs(l1 - l0) * 1000 / n);
        return "scenario=connect broker=" + o.label + common() + " parallel=" + o.parallel + " conns=" + n
                + " failed=" + failed.get() + " conn_per_s=" + rate(n / secs) + cpu + load + " "
                + lat("lat", h);
    }

    /**
     * One connection of {@link #connectRate}: connect, CONNECT, wait for the CONNACK (accepted), DISCONNECT, close
     * [MQTT-3.14.4-1], wait for the close. A small handler of its own, not a {@link BenchClient}: thousands of these
     * are made per second.
     */
    private void connectOnce(String clientId) throws Exception {
        CompletableFuture<Void> acked = new CompletableFuture<>();
        boolean v5 = o.mqtt == 5;
        Bootstrap b = new Bootstrap().group(pubGroup).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        addTls(ch);
                        ch.pipeline().addLast(new MqttDecoder(64 * 1024), MqttEncoder.INSTANCE,
                                new io.netty.channel.ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelActive(io.netty.channel.ChannelHandlerContext ctx) {
                                        ctx.writeAndFlush(BenchClient.connectMessage(clientId, v5, true, 0));
                                    }

                                    @Override
                                    public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                                        try {
                                            if (msg instanceof io.netty.handler.codec.mqtt.MqttConnAckMessage a) {
                                                if (a.variableHeader().connectReturnCode() == io.netty.handler.codec
                                                        .mqtt.MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                                                    acked.complete(null);
                                                } else {
                                                    acked.completeExceptionally(new IllegalStateException(
                                                            "refused " + a.variableHeader().connectReturnCode()));
                                                }
                                            }
                                        } finally {
                                            io.netty.util.ReferenceCountUtil.release(msg);
                                        }
                                    }

                                    @Override
                                    public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) {
                                        acked.completeExceptionally(new IllegalStateException("closed"));
                                    }

                                    @Override
                                    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx,
                                                                Throwable cause) {
                                        acked.completeExceptionally(cause);
                                        ctx.close();
                                    }
                                });
                    }
                });
        ChannelFuture f = b.connect(o.host, o.port);
        Channel ch = f.channel();
        try {
            if (!f.await(10, TimeUnit.SECONDS) || !f.isSuccess()) {
                throw new IllegalStateException("connect: " + f.cause());
            }
            acked.get(10, TimeUnit.SECONDS);
            ch.writeAndFlush(MqttMessage.DISCONNECT);
        } finally {
            ch.close();
            ch.closeFuture().await(10, TimeUnit.SECONDS);
        }
    }

    /** Clock ticks per second of /proc/<pid>/stat's times. */
    private static final long CLK_TCK = clockTicks();

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return Long.parseLong(out);
        } catch (IOException | InterruptedException | NumberFormatException e) {
            return 100;
        }
    }

    private static double ticksToSecs(long ticks) {
        return ticks / (double) CLK_TCK;
    }

    /** utime + stime of a process (all its threads), in clock ticks: fields 14 and 15 of /proc/<pid>/stat. */
    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // f[0] is field 3 (state)
    }

    /**
     * utime + stime of the threads of a process, summed by thread name ({@code /proc/<pid>/task/<tid>/comm}) with
     * digits, '#' and '-' at the end removed and spaces made '_': "C2 CompilerThre", "GC Thread#0", the Netty
     * threads. Threads that ended in between are missing.
     */
    static java.util.Map<String, Long> threadTicks(long pid) throws IOException {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String name = Files.readString(t.resolve("comm")).trim().replaceAll("[\\d#\\-]+$", "")
                            .replace(' ', '_');
                    String stat = Files.readString(t.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
        }
        return out;
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
            BenchClient c = new BenchClient("bench-" + run + "-idle" + i).mqtt(o.mqtt);
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
        // what is still resident 5 s later: a JVM hands back some memory of the burst of connections (the JIT
        // compilers' scratch memory, trimmed malloc arenas) within seconds; no GC is forced for this reading
        Thread.sleep(SETTLE_MILLIS);
        long settled = rssKb();
        double settledPer = ok == 0 ? 0 : (settled - before.rssKb) / (double) ok;
        return "scenario=idle broker=" + o.label + " conns=" + ok + " failed=" + failed
                + " connect_per_s=" + rate(ok / connSecs)
                + " rss_before_mb=" + after(before.rssKb) + " rss_after_mb=" + after(after.rssKb)
                + " rss_per_conn_kb=" + String.format(Locale.ROOT, "%.2f", rssPer) + heap
                + " rss_settled_mb=" + after(settled)
                + " rss_settled_per_conn_kb=" + String.format(Locale.ROOT, "%.2f", settledPer);
    }

    /** How long after the idle scenario's measurement its {@code rss_settled} reading is taken. */
    private static final long SETTLE_MILLIS = 5_000;

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
        return new Mem(rssKb(), heap);
    }

    /** The broker's resident memory ({@code VmRSS}), KiB. */
    private long rssKb() throws Exception {
        long rss = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + o.pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return rss;
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("jcmd", String.valueOf(o.pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }
}
