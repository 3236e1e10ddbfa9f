package io.brokkr.connector.elasticsearch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Test only: an {@link EsTestNode} in its own JVM (started with this JVM's class path), so that a test can kill the
 * server and start a new one on the same port and data directory.
 */
final class EsNodeProcess implements AutoCloseable {

    private final Path home;
    final int httpPort;
    private final int transportPort;
    private Process process;

    EsNodeProcess(Path home) throws IOException {
        this.home = home;
        this.httpPort = EsTestNode.freePort();
        this.transportPort = EsTestNode.freePort();
    }

    String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** Starts the JVM and waits until the node answers HTTP. */
    void start() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), home.toString(),
                Integer.toString(httpPort), Integer.toString(transportPort));
        pb.redirectErrorStream(true);
        process = pb.start();
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Process p = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals("ES-NODE-READY")) {
                        ready.complete(null);
                    } else if (line.contains("ERROR") || line.contains("Exception")) {
                        System.out.println("[es-node] " + line);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
            ready.completeExceptionally(new IllegalStateException("the Elasticsearch node process ended"));
        }, "es-node-output");
        reader.setDaemon(true);
        reader.start();
        long t0 = System.nanoTime();
        ready.get(90, TimeUnit.SECONDS);
        System.out.printf("elasticsearch node process up in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    /** Kills the node's JVM (the server is gone at once, as after a crash). */
    void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            process = null;
        }
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    /** The node's JVM: prints ES-NODE-READY when the node is up, runs until killed. */
    public static final class Main {
        public static void main(String[] args) throws Exception {
            EsTestNode node = new EsTestNode(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]));
            node.start();
            new EsHttp(node.url()).awaitYellow();
            System.out.println("ES-NODE-READY");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
