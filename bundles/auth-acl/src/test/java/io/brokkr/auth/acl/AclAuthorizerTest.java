package io.brokkr.auth.acl;


import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.testing.Mosquitto;
import io.brokkr.broker.testing.Procs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The authorizer in the real engine with real clients: Paho 5, Paho 3.1.1, mosquitto_pub and mosquitto_sub
 * (3.1.1 and 5.0), and the same ACL file in the real mosquitto 2.0.11 for the publish rights. A message that must
 * not arrive is fenced by a marker the same publisher sends after it: the subscriber has everything the publisher
 * sent before once the marker is there (one connection, in order [MQTT-4.6.0-6]).
 */
class AclAuthorizerTest {

    static final Duration RELOAD = Duration.ofSeconds(1);
    static final long WAIT = 10;

    static final String ACL = """
            # clients without a user name
            topic read public/#
            topic write public/anon
            topic write fence/anon

            # every client: its own place by client id, its outbox by user name, a fence topic
            pattern readwrite clients/%c/#
            pattern write users/%u/out
            pattern write fence/%c

            user alice
            topic alice/#
            topic deny alice/secret
            topic read public/#
            topic write alarm/alice

            user bob
            topic read alice/#
            topic write bob/#
            topic read $SYS/broker/#

            user watch
            topic read #
            """;

    @TempDir
    Path dir;
    Path file;
    Broker broker;
    AclAuthorizer auth;
    int port;
    final List<AutoCloseable> open = new ArrayList<>();

    void start(String acl, boolean unmatchedNext) throws Exception {
        file = dir.resolve("brokkr.acl");
        Files.writeString(file, acl);
        broker = new Broker(BrokerConfig.defaults().sysInterval(1));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("t", "127.0.0.1", 0)).port();
        auth = new AclAuthorizer(file, unmatchedNext, RELOAD);
        broker.setAuthorizers(List.of(auth));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        if (auth != null) {
            auth.close();
        }
        if (broker != null) {
            broker.stop();
        }
    }

    // ------------------------------------------------------------------------------------------------ MQTT 5

    /** A Paho 5 client that keeps what it receives as "topic payload". */
    final class V5 implements AutoCloseable {
        final MqttAsyncClient c;
        final BlockingQueue<String> received = new LinkedBlockingQueue<>();

        V5(int port, String id, String user) throws Exception {
            c = new MqttAsyncClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
            c.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
                public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) { }
                public void mqttErrorOccurred(MqttException e) { }
                public void messageArrived(String topic, MqttMessage m) {
                    received.add(topic + " " + new String(m.getPayload(), StandardCharsets.UTF_8));
                }
                public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken t) { }
                public void connectComplete(boolean reconnect, String uri) { }
                public void authPacketArrived(int reason, org.eclipse.paho.mqttv5.common.packet.MqttProperties p) { }
            });
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setConnectionTimeout(10);
            if (user != null) {
                o.setUserName(user);
            }
            c.connect(o).waitForCompletion(WAIT * 1000);
            open.add(this);
        }

        /** PUBLISH QoS 1; the PUBACK reason code, with 0x10 No matching subscribers (a success) as 0. */
        int publish(String topic, String payload) throws Exception {
            IMqttToken t = c.publish(topic, payload.getBytes(StandardCharsets.UTF_8), 1, false);
            try {
                t.waitForCompletion(WAIT * 1000);
            } catch (MqttException e) {
                return e.getReasonCode();
            }
            int[] rc = t.getReasonCodes();
            return rc == null || rc.length == 0 || rc[0] == 0x10 ? 0 : rc[0];
        }

        /** SUBSCRIBE at QoS 1; the SUBACK reason code. */
        int subscribe(String filter) throws Exception {
            IMqttToken t = c.subscribe(new MqttSubscription(filter, 1));
            try {
                t.waitForCompletion(WAIT * 1000);
            } catch (MqttException e) {
                return e.getReasonCode();
            }
            return t.getReasonCodes()[0];
        }

        /** What arrived before {@code marker} (a "topic payload" line), which must arrive. */
        List<String> before(String marker) throws InterruptedException {
            return receivedBefore(received, marker);
        }

        @Override
        public void close() throws Exception {
            if (c.isConnected()) {
                c.disconnect().waitForCompletion(WAIT * 1000);
            }
            c.close();
        }
    }

    static List<String> receivedBefore(BlockingQueue<String> q, String marker) throws InterruptedException {
        List<String> before = new ArrayList<>();
        while (true) {
            String s = q.poll(WAIT, TimeUnit.SECONDS);
            if (s == null) {
                fail("marker '" + marker + "' not received; before it: " + before);
            }
            if (s.equals(marker)) {
                return before;
            }
            before.add(s);
        }
    }

    // ------------------------------------------------------------------------------------------------ MQTT 3.1.1

    /** A Paho 3.1.1 client that keeps what it receives as "topic payload". */
    final class V3 implements AutoCloseable {
        final org.eclipse.paho.client.mqttv3.MqttAsyncClient c;
        final BlockingQueue<String> received = new LinkedBlockingQueue<>();

        V3(int port, String id, String user) throws Exception {
            c = new org.eclipse.paho.client.mqttv3.MqttAsyncClient("tcp://127.0.0.1:" + port, id,
                    new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
            c.setCallback(new MqttCallback() {
                public void connectionLost(Throwable cause) { }
                public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
                    received.add(topic + " " + new String(m.getPayload(), StandardCharsets.UTF_8));
                }
                public void deliveryComplete(IMqttDeliveryToken token) { }
            });
            c.connect(options(user)).waitForCompletion(WAIT * 1000);
            open.add(this);
        }

        void publish(String topic, String payload, int qos) throws Exception {
            c.publish(topic, payload.getBytes(StandardCharsets.UTF_8), qos, false).waitForCompletion(WAIT * 1000);
        }

        /** SUBSCRIBE at QoS 1; the granted QoS or 0x80. */
        int subscribe(String filter) throws Exception {
            var t = c.subscribe(filter, 1);
            t.waitForCompletion(WAIT * 1000);
            return t.getGrantedQos()[0];
        }

        List<String> before(String marker) throws InterruptedException {
            return receivedBefore(received, marker);
        }

        @Override
        public void close() throws Exception {
            if (c.isConnected()) {
                c.disconnect().waitForCompletion(WAIT * 1000);
            }
            c.close();
        }
    }

    static MqttConnectOptions options(String user) {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setConnectionTimeout(10);
        if (user != null) {
            o.setUserName(user);
        }
        return o;
    }

    Procs.Result mosquittoPub(String version, String user, String id, String topic, String payload) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port),
                "-V", version, "-q", "1", "-i", id, "-t", topic, "-m", payload));
        if (user != null) {
            cmd.addAll(List.of("-u", user));
        }
        return Procs.run(cmd.toArray(String[]::new));
    }

    Procs.Result mosquittoSub(String version, String user, String filter) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mosquitto_sub", "-h", "127.0.0.1", "-p", String.valueOf(port),
                "-V", version, "-t", filter, "-C", "1", "-W", "10", "-v"));
        if (user != null) {
            cmd.addAll(List.of("-u", user));
        }
        return Procs.run(cmd.toArray(String[]::new));
    }

    // ------------------------------------------------------------------------------------------------ tests

    @Test
    void publishRightsWithPaho5() throws Exception {
        start(ACL, false);
        V5 bob = new V5(port, "bob-sub", "bob");
        assertEquals(1, bob.subscribe("alice/#"));
        V5 alice = new V5(port, "alice-1", "alice");
        assertEquals(0, alice.publish("alice/x", "ok"));
        assertEquals(0x87, alice.publish("alice/secret", "no"));   // deny wins over alice/#
        assertEquals(0x87, alice.publish("bob/x", "no"));          // not granted
        assertEquals(0x87, alice.publish("public/x", "no"));       // read only
        assertEquals(0, alice.publish("alice/fence", "m"));
        assertEquals(List.of("alice/x ok"), bob.before("alice/fence m"));
        // alice's connection is still there after the refusals (5.0: a PUBACK with 0x87, no disconnect)
        assertTrue(alice.c.isConnected());
    }

    @Test
    void deniedPublishesAreDroppedIn311() throws Exception {
        start(ACL, false);
        V3 bob = new V3(port, "bob-sub", "bob");
        assertEquals(1, bob.subscribe("alice/#"));
        V3 alice = new V3(port, "alice-1", "alice");
        alice.publish("alice/secret", "q0", 0);
        alice.publish("alice/secret", "q1", 1); // PUBACK as usual, the message dropped
        alice.publish("alice/x", "ok", 1);
        alice.publish("alice/fence", "m", 1);
        assertEquals(List.of("alice/x ok"), bob.before("alice/fence m"));
        assertTrue(alice.c.isConnected());
    }

    @Test
    void subscribeNeedsAReadGrantCoveringTheFilter() throws Exception {
        start(ACL, false);
        V5 a5 = new V5(port, "alice-5", "alice");
        V3 a3 = new V3(port, "alice-3", "alice");
        String[][] cases = {
            // filter, granted?
            {"alice/x", "y"}, {"alice/a/#", "y"}, {"public/#", "y"}, {"clients/alice-5/#", "5"},
            {"clients/alice-3/#", "3"},
            {"alice/#", "n"},        // would match alice/secret, denied to alice
            {"alice/+", "n"},        // would match alice/secret
            {"bob/x", "n"}, {"#", "n"}, {"+/x", "n"}, {"clients/+/#", "n"}, {"$SYS/#", "n"},
        };
        for (String[] c : cases) {
            boolean v5 = c[1].equals("y") || c[1].equals("5");
            boolean v3 = c[1].equals("y") || c[1].equals("3");
            assertEquals(v5 ? 1 : 0x87, a5.subscribe(c[0]), "5.0 " + c[0]);
            assertEquals(v3 ? 1 : 0x80, a3.subscribe(c[0]), "3.1.1 " + c[0]);
        }
        // a refused filter next to a granted one in one SUBSCRIBE
        IMqttToken t = a5.c.subscribe(new MqttSubscription[] {new MqttSubscription("bob/#", 0),
            new MqttSubscription("alice/y", 0)});
        t.waitForCompletion(WAIT * 1000);
        assertEquals(List.of(0x87, 0), java.util.Arrays.stream(t.getReasonCodes()).boxed().toList());
    }

    @Test
    void mosquittoClients() throws Exception {
        start(ACL, false);
        V5 watch = new V5(port, "watcher", "watch");
        assertEquals(1, watch.subscribe("#"));
        for (String v : new String[] {"mqttv311", "mqttv5"}) {
            assertEquals(0, mosquittoPub(v, "alice", "a-" + v, "alice/x", v).exit());
            Procs.Result denied = mosquittoPub(v, "alice", "a-" + v, "alice/secret", v);
            if (v.equals("mqttv5")) {
                assertTrue(denied.output().contains("Not authorized"), denied.output()); // PUBACK 0x87
            }
            assertEquals(0, mosquittoPub(v, "alice", "a-" + v, "alice/fence", v).exit());
            // each mosquitto_pub is a new connection: the fence is the watcher's own order of delivery, one
            // publisher after the other; the denied one came in between
            assertEquals(List.of("alice/x " + v), watch.before("alice/fence " + v));

            // SUBSCRIBE refused: mosquitto_sub says so and ends
            Procs.Result sub = mosquittoSub(v, "alice", "bob/#");
            assertTrue(sub.output().contains("All subscription requests were denied"), sub.output());
        }
        // SUBSCRIBE granted: mosquitto_sub receives
        Procs.Result got = mosquittoSub("mqttv5", "bob", "$SYS/broker/version");
        assertEquals(0, got.exit(), got.output());
        assertTrue(got.output().startsWith("$SYS/broker/version brokkr"), got.output());
    }

    @Test
    void anonymousSection() throws Exception {
        start(ACL, false);
        V5 watch = new V5(port, "watcher", "watch");
        assertEquals(1, watch.subscribe("public/#"));
        V5 anon = new V5(port, "anon-5", null);
        assertEquals(1, anon.subscribe("public/#"));
        assertEquals(0x87, anon.subscribe("alice/#"));
        assertEquals(0, anon.publish("public/anon", "a"));
        assertEquals(0x87, anon.publish("public/other", "b"));
        assertEquals(0x87, anon.publish("users/x/out", "c")); // %u: no user name, no grant
        assertEquals(0, anon.publish("clients/anon-5/x", "d")); // %c applies to anonymous clients too
        assertEquals(0, anon.publish("public/anon", "fence"));
        assertEquals(List.of("public/anon a"), watch.before("public/anon fence"));
        assertEquals(List.of("public/anon a"), anon.before("public/anon fence"));
        // alice is not anonymous: the first section is not hers
        V5 alice = new V5(port, "alice-5", "alice");
        assertEquals(0x87, alice.publish("public/anon", "x"));
        // mosquitto_sub without a user name
        assertTrue(mosquittoSub("mqttv311", null, "alice/#").output().contains("All subscription requests were denied"));
    }

    @Test
    void patternsWithClientIdAndUserName() throws Exception {
        start(ACL, false);
        V5 watch = new V5(port, "watcher", "watch");
        assertEquals(1, watch.subscribe("#"));
        V5 carol = new V5(port, "dev1", "carol");
        assertEquals(0, carol.publish("clients/dev1/up", "1"));
        assertEquals(0x87, carol.publish("clients/dev2/up", "2"));
        assertEquals(0, carol.publish("users/carol/out", "3"));
        assertEquals(0x87, carol.publish("users/dave/out", "4"));
        assertEquals(1, carol.subscribe("clients/dev1/#"));
        assertEquals(0x87, carol.subscribe("clients/+/#"));
        assertEquals(0, carol.publish("fence/dev1", "f"));
        assertEquals(List.of("clients/dev1/up 1", "users/carol/out 3"), watch.before("fence/dev1 f"));

        // a client id or user name with a wildcard or a slash does not widen the pattern
        V5 plus = new V5(port, "+", "x");
        assertEquals(0x87, plus.subscribe("clients/+/#"));
        assertEquals(0x87, plus.subscribe("clients/dev1/#"));
        V5 slash = new V5(port, "dev1/sub", "x");
        assertEquals(0x87, slash.subscribe("clients/dev1/sub/#"));
        assertEquals(0x87, slash.publish("clients/dev1/sub/x", "no"));
        V5 user = new V5(port, "u1", "carol/+");
        assertEquals(0x87, user.publish("users/carol/x/out", "no"));
        V3 hash = new V3(port, "#", "x");
        assertEquals(0x80, hash.subscribe("clients/#"));
    }

    @Test
    void willsTheFileDoesNotAllowRefuseTheConnect() throws Exception {
        start(ACL, false);
        // 5.0: CONNACK 0x87
        for (String[] w : new String[][] {{"alarm/alice", "0"}, {"alarm/bob", "135"}, {"alice/secret", "135"}}) {
            var c = new org.eclipse.paho.mqttv5.client.MqttClient("tcp://127.0.0.1:" + port, "w5",
                    new MemoryPersistence());
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setUserName("alice");
            o.setWill(w[0], new MqttMessage("gone".getBytes(StandardCharsets.UTF_8)));
            int rc = 0;
            try {
                c.connect(o);
                c.disconnect();
            } catch (MqttException e) {
                rc = e.getReasonCode();
            } finally {
                c.close();
            }
            assertEquals(Integer.parseInt(w[1]), rc, "5.0 will " + w[0]);
        }
        // 3.1.1: return code 5
        for (String[] w : new String[][] {{"alarm/alice", "0"}, {"alarm/bob", "5"}}) {
            var c = new org.eclipse.paho.client.mqttv3.MqttClient("tcp://127.0.0.1:" + port, "w3",
                    new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
            MqttConnectOptions o = options("alice");
            o.setWill(w[0], "gone".getBytes(StandardCharsets.UTF_8), 1, false);
            int rc = 0;
            try {
                c.connect(o);
                c.disconnect();
            } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
                rc = e.getReasonCode();
            } finally {
                c.close();
            }
            assertEquals(Integer.parseInt(w[1]), rc, "3.1.1 will " + w[0]);
        }
        // mosquitto_pub with a will the file refuses
        for (String v : new String[] {"mqttv311", "mqttv5"}) {
            Procs.Result r = Procs.run("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V", v,
                    "-u", "alice", "-t", "alice/x", "-m", "x", "--will-topic", "bob/will", "--will-payload", "w");
            assertNotEquals(0, r.exit(), r.output());
            assertTrue(r.output().toLowerCase().contains("not authori"), r.output()); // "authorised" in 3.1.1
        }
    }

    @Test
    void sysTopicsGrantedByTheFile() throws Exception {
        start(ACL, false);
        // bob has "topic read $SYS/broker/#": the file's ALLOW stands in for the broker's admin role
        V5 bob = new V5(port, "bob-5", "bob");
        assertEquals(1, bob.subscribe("$SYS/broker/#"));
        assertNotNull(bob.received.poll(WAIT, TimeUnit.SECONDS));
        assertEquals(0x87, bob.subscribe("$SYS/#"));
        // watch reads "#", which does not cover $SYS [MQTT-4.7.2-1]
        assertEquals(0x87, new V5(port, "watch-5", "watch").subscribe("$SYS/broker/#"));
    }

    @Test
    void unmatchedNextLeavesTheRestToTheBroker() throws Exception {
        start(ACL, true);
        V5 alice = new V5(port, "alice-5", "alice");
        assertEquals(0, alice.publish("bob/x", "no grant, allowed by the broker"));
        assertEquals(0x87, alice.publish("alice/secret", "deny still denies"));
        assertEquals(1, alice.subscribe("bob/#"));
        assertEquals(0x87, alice.subscribe("alice/#"));     // meets the deny line
        assertEquals(0x87, alice.subscribe("$SYS/#"));      // the broker's own rule: no admin role
    }

    @Test
    void aChangedFileIsPickedUpAndABrokenOneKeepsTheRules() throws Exception {
        start(ACL, false);
        V5 alice = new V5(port, "alice-5", "alice");
        assertEquals(0x87, alice.publish("news/x", "1"));
        int loads = auth.loads();

        // replaced atomically (a new inode), as editors and config management do
        Path tmp = dir.resolve("brokkr.acl.tmp");
        Files.writeString(tmp, ACL + "user alice\ntopic write news/#\n");
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Duration took = Procs.until(RELOAD.multipliedBy(10), "the new file read", () -> auth.loads() > loads);
        System.out.println("ACL file change seen after " + took.toMillis() + " ms (reload interval "
                + RELOAD.toMillis() + " ms)");
        assertEquals(0, alice.publish("news/x", "2"));
        assertEquals(null, auth.lastError());

        // a broken line: the rules read before stay
        int good = auth.loads();
        Files.writeString(file, ACL + "user alice\ntopic write news/#\ntopic write more/#\ntopic bogus x\n");
        Procs.until(RELOAD.multipliedBy(10), "the broken file read", () -> auth.lastError() != null);
        assertEquals("line 27: invalid access type 'bogus' (read, write, readwrite or deny)", auth.lastError());
        assertEquals(good, auth.loads());
        assertEquals(0, alice.publish("news/x", "3"));
        assertEquals(0x87, alice.publish("more/x", "4"));

        // fixed: read again
        Files.writeString(file, ACL + "user alice\ntopic write more/#\n");
        Procs.until(RELOAD.multipliedBy(10), "the fixed file read", () -> auth.loads() > good);
        assertEquals(null, auth.lastError());
        assertEquals(0, alice.publish("more/x", "5"));
        assertEquals(0x87, alice.publish("news/x", "6"));
    }

    /**
     * The same file in the real mosquitto 2.0.11 and in Brokkr: the same publishes get through (and the same do
     * not). Each case is published by Paho 3.1.1 with its user name and client id, then a fence message of the same
     * connection; a watcher with "topic read #" tells what arrived before the fence.
     */
    @Test
    void publishRightsAgreeWithMosquitto() throws Exception {
        start(ACL, false);
        String[][] cases = {
            // user ("-": none), client id, topic
            {"-", "anon", "public/anon"}, {"-", "anon", "public/x"}, {"-", "anon", "clients/anon/x"},
            {"-", "anon", "users/anon/out"}, {"-", "anon", "alice/x"},
            {"alice", "a1", "alice/x"}, {"alice", "a1", "alice/deep/x"}, {"alice", "a1", "alice/secret"},
            {"alice", "a1", "alice"}, {"alice", "a1", "bob/x"}, {"alice", "a1", "public/x"},
            {"alice", "a1", "alarm/alice"}, {"alice", "a1", "clients/a1/x"}, {"alice", "a1", "clients/a2/x"},
            {"alice", "a1", "users/alice/out"}, {"alice", "a1", "users/bob/out"},
            {"bob", "b1", "bob/a/b"}, {"bob", "b1", "alice/x"}, {"bob", "b1", "bob"},
            {"carol", "c1", "users/carol/out"}, {"carol", "c1", "carol/x"}, {"carol", "c1", "clients/c1"},
        };
        List<String> brokkr = delivered(port, cases);
        try (Mosquitto m = Mosquitto.withAclFile(dir, file)) {
            List<String> mosquitto = delivered(m.port, cases);
            assertEquals(mosquitto, brokkr);
        }
        System.out.println("publish rights, Brokkr and mosquitto 2.0.11: " + brokkr);
    }

    /** For each case: "user id topic: delivered" or "... refused", as seen by a watcher. */
    private List<String> delivered(int port, String[][] cases) throws Exception {
        List<String> out = new ArrayList<>();
        try (V3 watch = new V3(port, "watcher", "watch")) {
            assertEquals(1, watch.subscribe("#"));
            int n = 0;
            for (String[] c : cases) {
                String user = c[0].equals("-") ? null : c[0];
                String payload = "case-" + n++;
                try (V3 pub = new V3(port, c[1], user)) {
                    pub.publish(c[2], payload, 1);
                    pub.publish("fence/" + c[1], payload, 1);
                }
                List<String> before = watch.before("fence/" + c[1] + " " + payload);
                out.add(c[0] + " " + c[1] + " " + c[2] + ": "
                        + (before.equals(List.of(c[2] + " " + payload)) ? "delivered"
                        : before.isEmpty() ? "refused" : before.toString()));
            }
        }
        return out;
    }
}
