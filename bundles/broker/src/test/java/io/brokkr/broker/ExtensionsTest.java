package io.brokkr.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.api.intercept.MessageInterceptor;
import io.brokkr.api.storage.RetainedStore;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.persistence.MemoryRetainedStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The extension points of the API bundle, exercised through a real broker and real MQTT 5 clients: authenticators
 * (async, ranked chain), authorizers, interceptors, message sinks (batched, retried) and retained store swap.
 */
class ExtensionsTest {

    Broker broker;
    int port;
    final List<MqttClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        broker = TestBroker.start(BrokerConfig.defaults().sysInterval(0));
        port = TestBroker.port(broker);
    }

    @AfterEach
    void stop() throws Exception {
        for (MqttClient c : clients) {
            try {
                if (c.isConnected()) {
                    c.disconnect();
                }
                c.close();
            } catch (MqttException ignored) {
                // already gone
            }
        }
        broker.stop();
    }

    MqttClient client(String id, String user, String password) throws MqttException {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        if (user != null) {
            o.setUserName(user);
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        }
        clients.add(c);
        c.connect(o);
        return c;
    }

    @Test
    void authenticatorChainDecidesAndDenialGivesReasonCode() throws Exception {
        // ranked first: only cares about "admin"; second: async check of the password
        Authenticator adminOnly = (ctx, req) -> CompletableFuture.completedFuture("admin".equals(ctx.username())
                ? AuthenticationResult.allow() : AuthenticationResult.next());
        Authenticator passwords = (ctx, req) -> CompletableFuture.supplyAsync(() ->
                req.password() != null && "secret".equals(new String(req.password(), StandardCharsets.UTF_8))
                        ? AuthenticationResult.allow()
                        : AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD, "wrong password"));
        broker.setAuthenticators(List.of(adminOnly, passwords));

        assertTrue(client("ok-1", "alice", "secret").isConnected());
        assertTrue(client("ok-2", "admin", "anything").isConnected());
        MqttException e = assertThrows(MqttException.class, () -> client("bad-1", "alice", "nope"));
        assertEquals(0x86, e.getReasonCode());

        // a failing authenticator denies with 0x88 (server unavailable) instead of letting clients in
        broker.setAuthenticators(List.of((ctx, req) -> {
            throw new IllegalStateException("ldap down");
        }));
        MqttException e2 = assertThrows(MqttException.class, () -> client("bad-2", "alice", "secret"));
        assertEquals(0x88, e2.getReasonCode());
    }

    @Test
    void anonymousRefusedWhenDisabled() throws Exception {
        broker.reconfigure(BrokerConfig.defaults().sysInterval(0).allowAnonymous(false));
        MqttException e = assertThrows(MqttException.class, () -> client("anon", null, null));
        assertEquals(0x87, e.getReasonCode());
    }

    @Test
    void authorizerDeniesPublishAndSubscribe() throws Exception {
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext client, String topic, int qos, boolean retain) {
                return topic.startsWith("secret/") ? Decision.DENY : Decision.NEXT;
            }

            @Override
            public Decision authorizeSubscribe(ConnectionContext client, String topicFilter, int qos) {
                return topicFilter.startsWith("secret/") ? Decision.DENY : Decision.ALLOW;
            }
        }));
        org.eclipse.paho.mqttv5.client.MqttAsyncClient ac = new org.eclipse.paho.mqttv5.client.MqttAsyncClient(
                "tcp://127.0.0.1:" + port, "authz", new MemoryPersistence());
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        ac.setCallback(new Callback(got));
        ac.connect(new MqttConnectionOptions()).waitForCompletion(5000);
        var token = ac.subscribe(new org.eclipse.paho.mqttv5.common.MqttSubscription[] {
                new org.eclipse.paho.mqttv5.common.MqttSubscription("secret/#", 1),
                new org.eclipse.paho.mqttv5.common.MqttSubscription("open/#", 1),
                new org.eclipse.paho.mqttv5.common.MqttSubscription("#", 1)});
        token.waitForCompletion(5000);
        int[] codes = token.getReasonCodes();
        assertEquals(0x87, codes[0]);
        assertEquals(1, codes[1]);
        assertEquals(1, codes[2], "# is allowed: it would receive a routed secret/ message");
        MqttMessage m = new MqttMessage("x".getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        var denied = ac.publish("secret/a", m);
        denied.waitForCompletion(5000);
        assertEquals(0x87, denied.getReasonCodes()[0]);
        var allowed = ac.publish("open/a", m);
        allowed.waitForCompletion(5000);
        // one publisher's messages are routed in order: a routed secret/a would have arrived (through #) first
        assertEquals("open/a=x", got.poll(5, TimeUnit.SECONDS), "denied message was not routed");
        ac.disconnect().waitForCompletion(5000);
        ac.close();
    }

    @Test
    void interceptorsSeeAndModifyMessages() throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        broker.setInterceptors(List.of(new MessageInterceptor() {
            @Override
            public void onConnect(ConnectionContext client) {
                events.add("connect " + client.clientId());
            }

            @Override
            public Message onMessageReceived(ConnectionContext client, Message message) {
                if (message.topic().equals("drop/me")) {
                    return null;
                }
                return message.withPayload((new String(message.payload(), StandardCharsets.UTF_8) + "!")
                        .getBytes(StandardCharsets.UTF_8));
            }

            @Override
            public void onMessageDelivered(ConnectionContext subscriber, Message message) {
                events.add("delivered " + subscriber.clientId() + " " + message.topic());
            }

            @Override
            public void onDisconnect(ConnectionContext client, boolean graceful) {
                events.add("disconnect " + client.clientId() + " " + graceful);
            }
        }));
        MqttClient sub = client("icp-sub", null, null);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        sub.setCallback(new Callback(got));
        sub.subscribe("#", 1);
        MqttClient pub = client("icp-pub", null, null);
        pub.publish("drop/me", "a".getBytes(StandardCharsets.UTF_8), 1, false);
        pub.publish("keep/me", "b".getBytes(StandardCharsets.UTF_8), 1, false);
        // one publisher's messages are routed in order: had drop/me been routed, it would have come first
        assertEquals("keep/me=b!", got.poll(5, TimeUnit.SECONDS));
        pub.publish("keep/marker", "c".getBytes(StandardCharsets.UTF_8), 1, false);
        assertEquals("keep/marker=c!", got.poll(5, TimeUnit.SECONDS), "one copy of keep/me only");
        pub.disconnect();
        Await.until("disconnect event of icp-pub", 5000, () -> events.contains("disconnect icp-pub true"));
        assertTrue(events.contains("connect icp-sub"), events.toString());
        assertTrue(events.contains("delivered icp-sub keep/me"), events.toString());
        assertTrue(events.contains("disconnect icp-pub true"), events.toString());
    }

    @Test
    void retainedStoreSwapKeepsMessages() throws Exception {
        MqttClient pub = client("ret-pub", null, null);
        pub.publish("r/1", "one".getBytes(StandardCharsets.UTF_8), 1, true);
        Await.until("r/1 retained", 5000, () -> !broker.retained("r/#").isEmpty());
        RetainedStore other = new MemoryRetainedStore();
        broker.setRetainedStore(other);
        assertEquals(1, other.size(), "retained messages are copied to the new store");
        pub.publish("r/2", "two".getBytes(StandardCharsets.UTF_8), 1, true);
        Await.until("r/2 in the new store", 5000, () -> other.size() >= 2);
        assertEquals(2, other.size());
        MqttClient sub = client("ret-sub", null, null);
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        sub.setCallback(new Callback(got));
        sub.subscribe("r/#", 1);
        List<String> received = new ArrayList<>();
        received.add(got.poll(5, TimeUnit.SECONDS));
        received.add(got.poll(5, TimeUnit.SECONDS));
        Collections.sort(received);
        assertEquals(List.of("r/1=one", "r/2=two"), received);
    }

    /** Paho v5 callback collecting "topic=payload". */
    static final class Callback implements org.eclipse.paho.mqttv5.client.MqttCallback {
        final BlockingQueue<String> got;

        Callback(BlockingQueue<String> got) {
            this.got = got;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            got.add(topic + "=" + new String(message.getPayload(), StandardCharsets.UTF_8));
        }

        @Override
        public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse r) {
        }

        @Override
        public void mqttErrorOccurred(MqttException e) {
        }

        @Override
        public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken token) {
        }

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
        }

        @Override
        public void authPacketArrived(int reasonCode, org.eclipse.paho.mqttv5.common.packet.MqttProperties p) {
        }
    }
}
