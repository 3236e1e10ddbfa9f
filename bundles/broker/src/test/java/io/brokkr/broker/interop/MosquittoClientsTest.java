package io.brokkr.broker.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Interoperability with a third-party client: Eclipse Mosquitto's command line clients ({@code mosquitto_pub},
 * {@code mosquitto_sub} from the Debian package mosquitto-clients, which {@code ./test.sh} installs) against the
 * broker over a real socket.
 */
class MosquittoClientsTest {

    static Broker broker;
    static int port;

    @BeforeAll
    static void start() {
        for (String tool : List.of("mosquitto_pub", "mosquitto_sub")) {
            if (!onPath(tool)) {
                fail(tool + " is not installed: install the Debian package mosquitto-clients (./test.sh does)");
            }
        }
        broker = new Broker(BrokerConfig.defaults().sysInterval(1).sysTopicsRole("")); // anonymous $SYS reader
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("interop", "127.0.0.1", 0)).port();
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.stop();
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (new File(dir, tool).canExecute()) {
                return true;
            }
        }
        return false;
    }

    private static List<String> cmd(String tool, String... args) {
        List<String> c = new ArrayList<>(List.of(tool, "-h", "127.0.0.1", "-p", String.valueOf(port)));
        c.addAll(List.of(args));
        return c;
    }

    private static Process start(List<String> command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Runs a command to completion and returns its output; fails on a non-zero exit or after 20 s. */
    private static String run(List<String> command) throws Exception {
        Process p = start(command);
        return finish(p, command);
    }

    private static String finish(Process p, List<String> command) throws Exception {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish; output: " + output(p));
        }
        String out = output(p);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed: " + out);
        return out;
    }

    private static String output(Process p) throws IOException {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                fail("timed out waiting until " + what + "; sessions: " + broker.sessions());
            }
            Thread.sleep(20);
        }
    }

    private static void awaitSubscribed(String clientId, String filter) throws InterruptedException {
        await(clientId + " is subscribed to " + filter, () -> broker.subscriptions().stream()
                .anyMatch(s -> s.clientId().equals(clientId) && s.fullFilter().equals(filter)));
    }

    @ParameterizedTest(name = "{0} QoS {1}")
    @ValueSource(strings = {"mqttv31:0", "mqttv31:1", "mqttv31:2", "mqttv311:0", "mqttv311:1", "mqttv311:2",
            "mqttv5:0", "mqttv5:1", "mqttv5:2"})
    void publishAndSubscribe(String versionAndQos) throws Exception {
        String version = versionAndQos.split(":")[0];
        String qos = versionAndQos.split(":")[1];
        String id = "sub-" + version + "-" + qos;
        String topic = "interop/" + version + "/q" + qos;
        List<String> subCmd = cmd("mosquitto_sub", "-V", version, "-i", id, "-q", qos, "-t", "interop/" + version
                + "/+", "-C", "2", "-v", "-W", "20");
        Process sub = start(subCmd);
        awaitSubscribed(id, "interop/" + version + "/+");
        run(cmd("mosquitto_pub", "-V", version, "-q", qos, "-t", topic, "-m", "hello " + qos));
        run(cmd("mosquitto_pub", "-V", version, "-q", qos, "-t", topic, "-m", "wörld"));
        assertEquals(topic + " hello " + qos + "\n" + topic + " wörld\n", finish(sub, subCmd));
    }

    @Test
    void retainedMessageIsDeliveredToALaterSubscriberAndCleared() throws Exception {
        run(cmd("mosquitto_pub", "-q", "1", "-r", "-t", "interop/retained", "-m", "kept"));
        assertEquals("interop/retained kept\n",
                run(cmd("mosquitto_sub", "-V", "mqttv5", "-t", "interop/#", "-C", "1", "-v", "-W", "10")));
        run(cmd("mosquitto_pub", "-r", "-t", "interop/retained", "-n"));
        await("the retained message is cleared", () -> broker.retained("interop/#").isEmpty());
    }

    /**
     * MQTT 5 User Properties as the only properties of a PUBLISH, shown by {@code mosquitto_sub -F %P} exactly as
     * with Mosquitto 2.0.11 as the broker. (Netty's {@code MqttProperties.isEmpty()} ignores User Properties, which
     * once made the broker drop them.)
     */
    @Test
    void userPropertiesReachMosquittoSub() throws Exception {
        List<String> subCmd = cmd("mosquitto_sub", "-V", "5", "-i", "up-sub", "-t", "up/#", "-F", "%t %P [%p]",
                "-C", "1", "-W", "20");
        Process sub = start(subCmd);
        awaitSubscribed("up-sub", "up/#");
        run(cmd("mosquitto_pub", "-V", "5", "-t", "up/x", "-q", "1", "-m", "hi",
                "-D", "publish", "user-property", "a", "2", "-D", "publish", "user-property", "c", "3"));
        assertEquals("up/x a:2 c:3 [hi]\n", finish(sub, subCmd));
    }

    /** As above, from the retained store to a subscriber started after the publish. */
    @Test
    void retainedUserPropertiesReachALaterMosquittoSub() throws Exception {
        run(cmd("mosquitto_pub", "-V", "5", "-t", "upr/x", "-q", "1", "-r", "-m", "hi",
                "-D", "publish", "user-property", "a", "2", "-D", "publish", "user-property", "c", "3"));
        assertEquals("upr/x a:2 c:3 [hi]\n", run(cmd("mosquitto_sub", "-V", "5", "-t", "upr/#",
                "-F", "%t %P [%p]", "-C", "1", "-W", "10")));
        run(cmd("mosquitto_pub", "-V", "5", "-r", "-t", "upr/x", "-n"));
        await("the retained message is cleared", () -> broker.retained("upr/#").isEmpty());
    }

    /**
     * The store-and-forward flow of the issue: a persistent subscriber ({@code -c -i NAME -q 1}) goes away, messages
     * are published while it is away, it reconnects and receives them all, in order.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mqttv311", "mqttv5"})
    void offlineStoreAndForward(String version) throws Exception {
        String id = "offline-" + version;
        String filter = "interop/offline/" + version;
        // first connection creates the persistent session and its subscription, then disconnects (-E)
        run(cmd("mosquitto_sub", "-V", version, "-c", "-i", id, "-q", "1", "-t", filter, "-E"));
        await(id + " is offline", () -> broker.sessions().stream()
                .anyMatch(s -> s.clientId().equals(id) && !s.connected()));
        for (int i = 1; i <= 5; i++) {
            run(cmd("mosquitto_pub", "-V", version, "-q", "1", "-t", filter, "-m", "reading " + i));
        }
        await("5 messages are queued for " + id, () -> broker.sessions().stream()
                .anyMatch(s -> s.clientId().equals(id) && s.queued() == 5));
        String out = run(cmd("mosquitto_sub", "-V", version, "-c", "-i", id, "-q", "1", "-t", filter, "-C", "5",
                "-W", "10"));
        assertEquals("reading 1\nreading 2\nreading 3\nreading 4\nreading 5\n", out);
        // Nothing is left queued. mosquitto_sub -C 5 closes its socket after the fifth message without reading the
        // SUBACK that follows the resent messages; with unread data Linux closes with a reset, and the broker's
        // kernel then discards the PUBACKs and the DISCONNECT not yet read (strace shows it; Mosquitto 2.0.11 keeps
        // the same messages in flight). Those messages stay in flight and come back, once each, at the next
        // connection: QoS 1's at-least-once, not a loss.
        await("the session of " + id + " is offline with nothing queued", () -> broker.sessions().stream()
                .anyMatch(s -> s.clientId().equals(id) && !s.connected() && s.queued() == 0));
        int inflight = broker.sessions().stream().filter(s -> s.clientId().equals(id)).findFirst().orElseThrow()
                .inflight();
        assertTrue(inflight <= 5, "in flight: " + inflight);
        if (inflight > 0) {
            StringBuilder rest = new StringBuilder();
            for (int i = 6 - inflight; i <= 5; i++) {
                rest.append("reading ").append(i).append('\n');
            }
            assertEquals(rest.toString(), run(cmd("mosquitto_sub", "-V", version, "-c", "-i", id, "-q", "1",
                    "-t", filter, "-C", String.valueOf(inflight), "-W", "10")));
        }
        await("the session of " + id + " is offline with nothing queued", () -> broker.sessions().stream()
                .anyMatch(s -> s.clientId().equals(id) && !s.connected() && s.queued() == 0));
    }

    @Test
    void willIsPublishedWhenTheClientDiesAndSysTopicsAreReadable() throws Exception {
        List<String> watchCmd = cmd("mosquitto_sub", "-i", "will-watcher", "-t", "interop/will", "-C", "1", "-v",
                "-W", "20");
        Process watcher = start(watchCmd);
        awaitSubscribed("will-watcher", "interop/will");
        Process dying = start(cmd("mosquitto_sub", "-i", "dying", "-t", "interop/nothing", "--will-topic",
                "interop/will", "--will-payload", "gone", "--will-qos", "1"));
        awaitSubscribed("dying", "interop/nothing");
        dying.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL: no DISCONNECT, the will must fire
        assertEquals("interop/will gone\n", finish(watcher, watchCmd));

        assertEquals("$SYS/broker/version brokkr version " + Broker.VERSION + "\n",
                run(cmd("mosquitto_sub", "-t", "$SYS/broker/version", "-C", "1", "-v", "-W", "10")));
    }
}
