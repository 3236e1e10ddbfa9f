package io.brokkr.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opens idle MQTT connections of a chosen protocol level (MQTT 5 by default) and reports the broker's growth in
 * resident memory per connection, and with {@code --jvm} the heap used after a full GC per connection, measured
 * as LoadTool's {@code idle} scenario does. The CONNECT is written by hand (clean start, keep-alive 0, no
 * properties, so Session Expiry Interval 0); the client waits for a CONNACK with reason code 0 and reads nothing
 * else.
 *
 * <pre>
 * java -cp ... io.brokkr.bench.IdleOpener --port 1883 --pid PID [--clients 10000] [--mqtt 5|4|3] [--jvm]
 *      [--hold SECONDS]
 * </pre>
 *
 * {@code --hold} keeps the connections open that long after the measurement (for {@code jcmd} histograms). Besides
 * the reading LoadTool makes (half a second after a forced full GC), RSS is read again 5 s later
 * ({@code rss_settled}): memory the JVM hands back to the system by itself (heap shrinking, native heap trimming)
 * shows there.
 */
public final class IdleOpener {

    /** The second RSS reading (rss_settled) comes this long after the first, with no GC forced in between. */
    private static final long SETTLE_MILLIS = 5_000;

    private IdleOpener() {
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 1883;
        int clients = 10_000;
        int level = 5;
        long pid = -1;
        boolean jvm = false;
        int hold = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--clients" -> clients = Integer.parseInt(args[++i]);
                case "--mqtt" -> level = Integer.parseInt(args[++i]);
                case "--pid" -> pid = Long.parseLong(args[++i]);
                case "--jvm" -> jvm = true;
                case "--hold" -> hold = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: IdleOpener --port P --pid PID [--host H] [--clients N] [--mqtt 5|4|3]"
                            + " [--jvm] [--hold SECONDS]");
                    System.exit(2);
                }
            }
        }
        if (pid <= 0) {
            throw new IllegalArgumentException("--pid of the broker is required");
        }
        String run = Long.toString(System.nanoTime() % 1_000_000, 36);
        EventLoopGroup group = new NioEventLoopGroup(1);
        try {
            long[] before = mem(pid, jvm);
            Semaphore sem = new Semaphore(256);
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            List<Channel> channels = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < clients; i++) {
                sem.acquire();
                CompletableFuture<Void> acked = new CompletableFuture<>();
                acked.whenComplete((x, e) -> sem.release());
                fs.add(acked);
                byte[] connect = connect(level, "idle-" + run + "-" + i);
                Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.SO_LINGER, 0)
                        .handler(new Client(connect, acked));
                b.connect(host, port).addListener(f -> {
                    if (!f.isSuccess()) {
                        acked.completeExceptionally(f.cause());
                    }
                });
            }
            int failed = 0;
            for (CompletableFuture<Void> f : fs) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (Exception e) {
                    if (failed++ == 0) {
                        System.err.println("idle connection failed: " + e);
                    }
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            Thread.sleep(2000);
            long[] after = mem(pid, jvm);
            int ok = clients - failed;
            StringBuilder sb = new StringBuilder("RESULT scenario=idle mqtt=").append(level).append(" conns=")
                    .append(ok).append(" failed=").append(failed)
                    .append(String.format(Locale.ROOT, " connect_per_s=%.0f", ok / secs))
                    .append(String.format(Locale.ROOT, " rss_before_mb=%.1f rss_after_mb=%.1f rss_per_conn_kb=%.2f",
                            before[0] / 1024.0, after[0] / 1024.0, per(after[0] - before[0], ok)));
            if (jvm) {
                sb.append(String.format(Locale.ROOT,
                        " heap_before_mb=%.1f heap_after_mb=%.1f heap_per_conn_kb=%.2f",
                        before[1] / 1024.0, after[1] / 1024.0, per(after[1] - before[1], ok)));
            }
            Thread.sleep(SETTLE_MILLIS);
            long settled = mem(pid, false)[0];
            sb.append(String.format(Locale.ROOT, " rss_settled_mb=%.1f rss_settled_per_conn_kb=%.2f", settled / 1024.0,
                    per(settled - before[0], ok)));
            System.out.println(sb);
            System.out.flush();
            if (hold > 0) {
                Thread.sleep(hold * 1000L);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
        }
    }

    private static double per(long kb, int n) {
        return n == 0 ? 0 : kb / (double) n;
    }

    /** A CONNECT with clean start/session, keep-alive 0, no will, no credentials and no properties. */
    static byte[] connect(int level, String clientId) {
        byte[] name = (level == 3 ? "MQIsdp" : "MQTT").getBytes(StandardCharsets.US_ASCII);
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        int variable = 2 + name.length + 1 + 1 + 2 + (level == 5 ? 1 : 0);
        int remaining = variable + 2 + id.length;
        ByteBuf b = Unpooled.buffer();
        b.writeByte(0x10);
        for (int r = remaining; ; ) { // remaining length, variable byte integer
            int d = r & 0x7F;
            r >>>= 7;
            b.writeByte(r > 0 ? d | 0x80 : d);
            if (r == 0) {
                break;
            }
        }
        b.writeShort(name.length).writeBytes(name).writeByte(level).writeByte(0x02).writeShort(0);
        if (level == 5) {
            b.writeByte(0); // property length
        }
        b.writeShort(id.length).writeBytes(id);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    /** VmRSS in KiB and, for a JVM, the heap used after a full GC in KiB (else -1). */
    private static long[] mem(long pid, boolean jvm) throws Exception {
        long heap = -1;
        if (jvm) {
            jcmd(pid, "GC.run");
            Thread.sleep(500);
            Matcher m = Pattern.compile("used (\\d+)K").matcher(jcmd(pid, "GC.heap_info"));
            if (m.find()) {
                heap = Long.parseLong(m.group(1));
            }
        }
        long rss = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return new long[] {rss, heap};
    }

    private static String jcmd(long pid, String command) throws Exception {
        Process p = new ProcessBuilder("jcmd", String.valueOf(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }

    /** Sends the CONNECT, completes on a successful CONNACK and then discards whatever arrives. */
    private static final class Client extends ChannelInboundHandlerAdapter {
        private final byte[] connect;
        private final CompletableFuture<Void> acked;
        private int seen;
        private int rc = -1;

        Client(byte[] connect, CompletableFuture<Void> acked) {
            this.connect = connect;
            this.acked = acked;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(connect));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (acked.isDone() || !(msg instanceof ByteBuf b)) {
                    return;
                }
                while (b.isReadable() && seen < 4) { // type, remaining length, flags, reason code
                    int v = b.readUnsignedByte();
                    if (seen == 0 && v != 0x20) {
                        acked.completeExceptionally(new IllegalStateException("expected CONNACK, got " + v));
                        return;
                    }
                    if (seen == 3) {
                        rc = v;
                    }
                    seen++;
                }
                if (seen == 4) {
                    if (rc == 0) {
                        acked.complete(null);
                    } else {
                        acked.completeExceptionally(new IllegalStateException("CONNACK reason code " + rc));
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            acked.completeExceptionally(new IllegalStateException("connection closed"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            acked.completeExceptionally(cause);
            ctx.close();
        }
    }
}
