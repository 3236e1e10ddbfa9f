package io.brokkr.auth.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.api.auth.Authorizer.Decision;
import io.brokkr.auth.rules.command.RuleCommands;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.testing.Procs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rules enforced by the real engine on real clients: Paho 5 (PUBACK and SUBACK 0x87 for what the rules deny)
 * and mosquitto_pub / mosquitto_sub with MQTT 3.1.1 (a denied message is not delivered: the same publisher then
 * publishes a marker, and the subscriber's first message must be the marker). The authenticator gives user "ops"
 * the role "ops"; the rules file is the one below, no.match = deny.
 */
class RulesEnforcementTest {

    static final String RULES = """
            # the issue's example
            DEFINE RULE AllowSensors WITH PRIORITY 1 FOR Publish TO TOPIC "sensors/#"
                IF USER IS "sensor" THEN ALLOW ELSE DENY
            DEFINE RULE OpsRead WITH PRIORITY 2 FOR Subscribe TO TOPIC "sensors/#", "fence/#"
                IF ROLE IS "ops" THEN ALLOW ELSE DENY
            DEFINE RULE Own WITH PRIORITY 3 FOR Publish, Subscribe TO TOPIC "users/%u/#" IF NOT ANONYMOUS THEN ALLOW
            DEFINE RULE Fence WITH PRIORITY 4 FOR Publish TO TOPIC "fence/#" THEN ALLOW
            DEFINE RULE Local WITH PRIORITY 5 FOR Subscribe TO TOPIC "local/#"
                IF ADDRESS IN ("127.0.0.0/8", "::1/128") AND LISTENER IS "t" THEN ALLOW ELSE DENY
            """;

    @TempDir
    Path dir;
    Path file;
    Broker broker;
    RulesAuthorizer auth;
    int port;
    final List<MqttAsyncClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        file = dir.resolve("brokkr.rules");
        Files.writeString(file, RULES);
        broker = new Broker(BrokerConfig.defaults().sysInterval(0).allowAnonymous(true));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("t", "127.0.0.1", 0)).port();
        Authenticator roles = (ctx, req) -> CompletableFuture.completedFuture(ctx.username() == null
                ? AuthenticationResult.allow()
                : AuthenticationResult.allow(new BrokkrPrincipal(ctx.username(),
                ctx.username().equals("ops") ? Set.of("ops") : Set.of(), null)));
        broker.setAuthenticators(List.of(roles));
        auth = new RulesAuthorizer(file, Decision.DENY, Duration.ofHours(1));
        broker.setAuthorizers(List.of(auth));
    }

    @AfterEach
    void stop() throws Exception {
        for (MqttAsyncClient c : clients) {
            try {
                if (c.isConnected()) {
                    c.disconnect().waitForCompletion(5000);
                }
                c.close();
            } catch (MqttException ignored) {
                // closing
            }
        }
        auth.close();
        broker.stop();
    }

    /** A connected Paho 5 client whose received messages ("topic=payload") go to {@code got}. */
    MqttAsyncClient paho(String id, String user, BlockingQueue<String> got) throws Exception {
        MqttAsyncClient c = new MqttAsyncClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
        clients.add(c);
        c.setCallback(new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage m) {
                if (got != null) {
                    got.add(topic + "=" + new String(m.getPayload(), StandardCharsets.UTF_8));
                }
            }

            @Override
            public void disconnected(MqttDisconnectResponse r) {
            }

            @Override
            public void mqttErrorOccurred(MqttException e) {
            }

            @Override
            public void deliveryComplete(IMqttToken t) {
            }

            @Override
            public void connectComplete(boolean reconnect, String uri) {
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties p) {
            }
        });
        MqttConnectionOptions o = new MqttConnectionOptions();
        if (user != null) {
            o.setUserName(user);
        }
        c.connect(o).waitForCompletion(10_000);
        return c;
    }

    /** The PUBACK reason code of a QoS 1 publish. */
    static int publish(MqttAsyncClient c, String topic, String payload) throws Exception {
        MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        IMqttToken t = c.publish(topic, m);
        t.waitForCompletion(10_000);
        int[] codes = t.getReasonCodes();
        return codes == null || codes.length == 0 ? 0 : codes[0];
    }

    /** The SUBACK reason code of a QoS 1 subscription. */
    static int subscribe(MqttAsyncClient c, String filter) throws Exception {
        IMqttToken t = c.subscribe(new MqttSubscription[] {new MqttSubscription(filter, 1)});
        t.waitForCompletion(10_000);
        return t.getReasonCodes()[0];
    }

    @Test
    void paho5GetsNotAuthorizedForWhatTheRulesDeny() throws Exception {
        BlockingQueue<String> got = new LinkedBlockingQueue<>();
        MqttAsyncClient ops = paho("ops-1", "ops", got);
        MqttAsyncClient sensor = paho("sensor-1", "sensor", null);
        MqttAsyncClient other = paho("other-1", "other", null);

        assertEquals(1, subscribe(ops, "sensors/#")); // OpsRead THEN
        assertEquals(1, subscribe(ops, "fence/#"));
        assertEquals(1, subscribe(ops, "$share/g/sensors/+/temp")); // judged by its filter
        assertEquals(0x87, subscribe(ops, "#")); // not covered by any rule: no.match deny
        assertEquals(0x87, subscribe(other, "sensors/#")); // OpsRead ELSE
        assertEquals(0x87, subscribe(other, "sensors/a")); // ditto

        assertEquals(0, publish(sensor, "sensors/a/temp", "21")); // AllowSensors THEN
        assertEquals("sensors/a/temp=21", got.poll(10, TimeUnit.SECONDS));
        assertEquals("sensors/a/temp=21", got.poll(10, TimeUnit.SECONDS)); // and the shared subscription
        assertEquals(0x87, publish(other, "sensors/a/temp", "forged")); // AllowSensors ELSE
        assertEquals(0, publish(other, "fence/1", "marker"));
        assertEquals("fence/1=marker", got.poll(10, TimeUnit.SECONDS), "the denied message was not routed");

        // %u: own subtree only; a subscription wider than it is refused
        assertEquals(1, subscribe(other, "users/other/#"));
        assertEquals(0x87, subscribe(other, "users/+/#"));
        assertEquals(0, publish(other, "users/other/x", "mine"));
        assertEquals(0x87, publish(other, "users/ops/x", "not mine"));

        // ADDRESS and LISTENER: this client is on 127.0.0.1 through listener "t"
        assertEquals(1, subscribe(other, "local/x"));
        assertNull(got.poll());
    }

    @Test
    void anonymousClientsAndANewRuleInForceAtOnce() throws Exception {
        MqttAsyncClient anon = paho("anon-1", null, null);
        assertEquals(0x87, publish(anon, "users/x", "x")); // Own needs NOT ANONYMOUS (and %u a user name)
        assertEquals(0x87, publish(anon, "open/x", "x")); // no rule: deny

        String out = RuleCommands.add(auth, "DEFINE RULE Open WITH PRIORITY 0 FOR Publish TO TOPIC \"open/#\" "
                + "IF ANONYMOUS THEN ALLOW");
        assertEquals("Added rule 'Open' in " + file + ": in force", out);
        assertEquals(0x10, publish(anon, "open/x", "x")); // allowed (No matching subscribers): the same connection
        assertEquals("Removed rule 'Open' from " + file, RuleCommands.remove(auth, "Open"));
        assertEquals(0x87, publish(anon, "open/x", "x"));
    }

    // ------------------------------------------------------------------------------------------------ mosquitto

    List<String> cmd(String tool, String... args) {
        List<String> c = new ArrayList<>(List.of(tool, "-h", "127.0.0.1", "-p", String.valueOf(port), "-V",
                "mqttv311"));
        c.addAll(List.of(args));
        return c;
    }

    Process start(List<String> command) throws Exception {
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    String finish(Process p, List<String> command) throws Exception {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish: "
                    + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    void awaitSubscribed(String clientId, String filter) throws Exception {
        Procs.until(Duration.ofSeconds(20), clientId + " subscribed to " + filter, () -> broker.subscriptions()
                .stream().anyMatch(s -> s.clientId().equals(clientId) && s.fullFilter().equals(filter)));
    }

    @Test
    void mosquittoClients311() throws Exception {
        // the subscriber: ops may read sensors/# and fence/#; the first message it gets must be the marker
        List<String> subCmd = cmd("mosquitto_sub", "-u", "ops", "-i", "ops-sub", "-q", "1", "-t", "sensors/#",
                "-t", "fence/#", "-C", "1", "-v", "-W", "30");
        Process sub = start(subCmd);
        awaitSubscribed("ops-sub", "fence/#");
        awaitSubscribed("ops-sub", "sensors/#");
        // the denied publish: a 3.1.1 PUBACK carries no reason code, mosquitto_pub succeeds, the message is dropped
        Procs.Result denied = Procs.run(cmd("mosquitto_pub", "-u", "other", "-i", "other-pub", "-q", "1", "-t",
                "sensors/a/temp", "-m", "forged").toArray(String[]::new));
        assertEquals(0, denied.exit(), denied.output());
        Procs.Result marker = Procs.run(cmd("mosquitto_pub", "-u", "other", "-i", "other-pub", "-q", "1", "-t",
                "fence/1", "-m", "marker").toArray(String[]::new));
        assertEquals(0, marker.exit(), marker.output());
        assertEquals("fence/1 marker\n", finish(sub, subCmd));

        // the allowed publish arrives, before the marker of the same publisher
        subCmd = cmd("mosquitto_sub", "-u", "ops", "-i", "ops-sub-2", "-q", "1", "-t", "sensors/#", "-t", "fence/#",
                "-C", "2", "-v", "-W", "30");
        sub = start(subCmd);
        awaitSubscribed("ops-sub-2", "fence/#");
        awaitSubscribed("ops-sub-2", "sensors/#");
        assertEquals(0, Procs.run(cmd("mosquitto_pub", "-u", "sensor", "-i", "sensor-pub", "-q", "1", "-t",
                "sensors/a/temp", "-m", "21").toArray(String[]::new)).exit());
        assertEquals(0, Procs.run(cmd("mosquitto_pub", "-u", "sensor", "-i", "sensor-pub", "-q", "1", "-t",
                "fence/2", "-m", "marker").toArray(String[]::new)).exit());
        assertEquals("sensors/a/temp 21\nfence/2 marker\n", finish(sub, subCmd));

        // a denied subscription: SUBACK 0x80 (3.1.1 has no 0x87); mosquitto_sub says so
        List<String> deniedSub = cmd("mosquitto_sub", "-u", "other", "-i", "other-sub", "-t", "sensors/#", "-C", "1",
                "-W", "10");
        String out = finish(start(deniedSub), deniedSub);
        System.out.println("mosquitto_sub, denied: " + out.strip());
        assertTrue(out.contains("denied"), out);
        assertTrue(broker.subscriptions().stream().noneMatch(s -> s.clientId().equals("other-sub")));
    }
}
