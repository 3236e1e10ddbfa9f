package io.brokkr.connector.redis;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} on loopback for the tests, run as a child process in its own directory (append-only
 * file on, so that a stop and start keeps the data, as a real server does).
 */
final class RedisServer implements AutoCloseable {

    final Path dir;
    final int port;
    private final List<String> extra;
    private Process process;

    RedisServer(Path dir, int port, String... extraArgs) {
        this.dir = dir;
        this.port = port;
        this.extra = List.of(extraArgs);
    }

    /** Skips the test (with the reason) if redis-server is not installed; ./test.sh installs it. */
    static void assumeInstalled() {
        Assumptions.assumeTrue(onPath("redis-server"),
                "redis-server is not installed (apt-get install -y redis-server; ./test.sh installs it): skipped");
    }

    static boolean onPath(String command) {
        for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(p, command))) {
                return true;
            }
        }
        return false;
    }

    /** A port free now; with {@code clusterBus}, port + 10000 is free too. */
    static int freePort(boolean clusterBus) throws IOException {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = clusterBus ? ThreadLocalRandom.current().nextInt(20000, 40000) : 0;
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                if (!clusterBus) {
                    return s.getLocalPort();
                }
                try (ServerSocket bus = new ServerSocket(port + 10000, 1, InetAddress.getLoopbackAddress())) {
                    return port;
                }
            } catch (IOException inUse) {
                // try another
            }
        }
        throw new IOException("no free port");
    }

    RedisServer start() throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path log = dir.resolve("redis.log");
        long logged = Files.exists(log) ? Files.size(log) : 0;
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--dir", dir.toString(), "--logfile", log.toString(),
                "--save", "", "--appendonly", "yes", "--appendfsync", "always"));
        cmd.addAll(extra);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                String text = Files.readString(log);
                if (text.length() > logged && text.substring((int) logged).contains("Ready to accept connections")) {
                    return this;
                }
            }
            if (!process.isAlive()) {
                throw new IOException("redis-server exited: " + Files.readString(dir.resolve("stdout.log"))
                        + (Files.exists(log) ? Files.readString(log) : ""));
            }
            Thread.sleep(20);
        }
        throw new IOException("redis-server on port " + port + " not ready in 20 s");
    }

    /** Stops the server (SIGTERM: it flushes its append-only file and exits). */
    void stop() throws InterruptedException {
        if (process != null) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            process = null;
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
