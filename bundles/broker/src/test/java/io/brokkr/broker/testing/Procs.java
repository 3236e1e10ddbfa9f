package io.brokkr.broker.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Runs command line tools (the Mosquitto clients and broker, mosquitto_passwd) as processes, and waits for conditions:
 * shared by the tests of the provider bundles through the broker's test-jar.
 */
public final class Procs {

    public record Result(int exit, String output) {
    }

    private Procs() {
    }

    /** Runs a command to its end (at most 30 s), with stderr merged into the output. */
    public static Result run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + String.join(" ", command));
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    public static Result ok(String... command) throws IOException, InterruptedException {
        Result r = run(command);
        assertTrue(r.exit() == 0, String.join(" ", command) + " -> " + r);
        return r;
    }

    /** Polls {@code condition} every 50 ms until it holds; fails after {@code max}. Returns the time it took. */
    public static Duration until(Duration max, String what, BooleanSupplier condition) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + max + ": " + what);
            }
            Thread.sleep(50);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
