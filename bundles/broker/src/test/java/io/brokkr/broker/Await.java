package io.brokkr.broker;

/**
 * Poll-until for the tests: waits for a condition instead of sleeping a fixed time, and fails with a description
 * of what did not happen. Public so that tests in sub-packages share it.
 */
public final class Await {

    private Await() {
    }

    /** A condition that may throw (a client call, say). */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /**
     * Waits until {@code condition} holds, checking every 10 ms; throws an AssertionError naming {@code what} after
     * {@code timeoutMillis}.
     */
    public static void until(String what, long timeoutMillis, Condition condition) throws Exception {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }
}
