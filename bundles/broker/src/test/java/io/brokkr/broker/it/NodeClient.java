package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * MQTT.js (npm package {@code mqtt}, installed into {@code src/test/node/node_modules} by {@code ./test.sh}) run
 * under node as an outside MQTT-over-WebSocket client: {@code src/test/node/ws-client.js} in a process of its own,
 * its output read line by line as it comes.
 */
final class NodeClient implements AutoCloseable {

    /** The script's directory (the tests run in the module's directory). */
    static final Path DIR = Path.of("src/test/node").toAbsolutePath();

    private final Process process;
    private final List<String> command;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = new ArrayList<>();
    private final Thread reader;

    private NodeClient(List<String> command, Process process) {
        this.command = command;
        this.process = process;
        reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // process ended
            }
        }, "node-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Fails (not skips) when node or MQTT.js is missing: ./test.sh installs both. */
    static void checkInstalled() {
        if (!Files.isDirectory(DIR.resolve("node_modules/mqtt"))) {
            fail("MQTT.js is not installed in " + DIR + "/node_modules: run ./test.sh (it runs npm ci --prefix "
                    + "bundles/broker/src/test/node), or npm ci in that directory");
        }
        if (!Files.isExecutable(Path.of("/usr/bin/node")) && !onPath("node")) {
            fail("node is not installed: install the Debian package nodejs (./test.sh does)");
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Starts {@code node ws-client.js url args...} with the environment variables {@code env}. */
    static NodeClient start(Map<String, String> env, String url, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Files.isExecutable(Path.of("/usr/bin/node")) ? "/usr/bin/node"
                : "node", "ws-client.js", url));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(DIR.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        return new NodeClient(cmd, pb.start());
    }

    /** Waits for an output line equal to {@code expected}; fails with the output so far if it does not come. */
    void awaitLine(String expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            long left = deadline - System.nanoTime();
            String l = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
            if (l == null) {
                fail("no line '" + expected + "' from " + String.join(" ", command) + "; output: " + all);
            }
            all.add(l);
            if (l.equals(expected)) {
                return;
            }
        }
    }

    /** Waits for the process to exit with 0; returns all its output lines. */
    List<String> finish() throws InterruptedException {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(String.join(" ", command) + " did not finish; output: " + all + lines);
        }
        reader.join(5_000); // it reads the last lines up to the end of the stream
        lines.drainTo(all);
        if (process.exitValue() != 0) {
            fail(String.join(" ", command) + " exited with " + process.exitValue() + "; output: " + all);
        }
        return all;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
