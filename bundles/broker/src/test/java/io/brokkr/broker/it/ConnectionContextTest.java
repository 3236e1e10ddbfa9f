package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.api.SubscriptionInfo;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.api.intercept.MessageInterceptor;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@link ConnectionContext} of real connections (MQTT 3.1.1 and 5) as the authenticator, the authorizers and the
 * interceptors see it: one object per connection, its facts (listener, addresses, version, client id, user name, no
 * TLS on a plain TCP listener), the attributes the authenticator set, and the principal it returned, whose roles the
 * authorizer decides on (publishes, subscriptions and the will).
 */
class ConnectionContextTest extends BrokerTestBase {

    static final String TOKEN = "test.token";
    static final BrokkrPrincipal ALICE = new BrokkrPrincipal("alice", Set.of("writer", "reader"),
            Map.of("tenant", "acme"));
    static final BrokkrPrincipal BOB = BrokkrPrincipal.of("bob", "reader");

    /** One extension call and the context's state at that moment. */
    record Call(String what, ConnectionContext ctx, String listenerName, String listenerType,
                InetSocketAddress local, InetSocketAddress remote, ProtocolVersion version, String clientId,
                String username, Object sslSession, Object peerCertificates, BrokkrPrincipal principal,
                Object token) {

        static Call of(String what, ConnectionContext c) {
            return new Call(what, c, c.listenerName(), c.listenerType(), c.localAddress(), c.remoteAddress(),
                    c.protocolVersion(), c.clientId(), c.username(), c.sslSession(), c.peerCertificates(),
                    c.principal(), c.attributes().get(TOKEN));
        }
    }

    private final List<Call> calls = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    void extensions() {
        // alice: writer and reader; bob: reader; carol: allowed without a principal. The answer comes from another
        // thread, which also sets the attribute the others read later.
        broker.setAuthenticators(List.of((ctx, req) -> {
            calls.add(Call.of("authenticate", ctx));
            String pw = req.password() == null ? null : new String(req.password(), StandardCharsets.UTF_8);
            return CompletableFuture.supplyAsync(() -> {
                if (!"pw".equals(pw)) {
                    return AuthenticationResult.next();
                }
                ctx.attributes().put(TOKEN, "token-" + ctx.clientId());
                return switch (ctx.username()) {
                    case "alice" -> AuthenticationResult.allow(ALICE);
                    case "bob" -> AuthenticationResult.allow(BOB);
                    case "carol" -> AuthenticationResult.allow();
                    default -> AuthenticationResult.next();
                };
            });
        }));
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext context, String topic, int qos, boolean retain) {
                if (!topic.startsWith("plant/")) {
                    return Decision.NEXT;
                }
                calls.add(Call.of("authorizePublish " + topic, context));
                return context.hasRole("writer") ? Decision.ALLOW : Decision.DENY;
            }

            @Override
            public Decision authorizeSubscribe(ConnectionContext context, String topicFilter, int qos) {
                if (!topicFilter.startsWith("plant/")) {
                    return Decision.NEXT;
                }
                calls.add(Call.of("authorizeSubscribe " + topicFilter, context));
                return context.principal() != null && context.principal().roles().contains("reader")
                        ? Decision.ALLOW : Decision.DENY;
            }
        }));
        broker.setInterceptors(List.of(new MessageInterceptor() {
            @Override
            public void onConnect(ConnectionContext context) {
                calls.add(Call.of("onConnect", context));
            }

            @Override
            public void onSubscribe(ConnectionContext context, SubscriptionInfo subscription) {
                calls.add(Call.of("onSubscribe " + subscription.topicFilter(), context));
            }

            @Override
            public Message onMessageReceived(ConnectionContext publisher, Message message) {
                if (message.topic().startsWith("plant/")) {
                    calls.add(Call.of("onMessageReceived " + message.topic(), publisher));
                }
                return message;
            }

            @Override
            public void onMessageDelivered(ConnectionContext subscriber, Message message) {
                if (message.topic().startsWith("plant/")) {
                    calls.add(Call.of("onMessageDelivered " + message.topic(), subscriber));
                }
            }

            @Override
            public void onDisconnect(ConnectionContext context, boolean graceful) {
                calls.add(Call.of("onDisconnect " + graceful, context));
            }
        }));
    }

    private static MqttConnectMessage login(MqttVersion v, String clientId, String user) {
        return MqttMessageBuilders.connect().protocolVersion(v).clientId(clientId).cleanSession(true).keepAlive(10)
                .hasUser(true).username(user).hasPassword(true).password(utf8("pw")).build();
    }

    private List<Call> callsOf(String clientId) {
        synchronized (calls) {
            return calls.stream().filter(c -> c.ctx() != null && clientId.equals(c.clientId())).toList();
        }
    }

    private List<String> whatOf(String clientId) {
        return callsOf(clientId).stream().map(Call::what).toList();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + RawClient.TIMEOUT_MS;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    /**
     * alice connects, subscribes, publishes, receives her own message and disconnects: every extension call of her
     * connection gets the same context with the same facts; the principal and the attribute appear once the
     * authenticator allowed her, and are there in every later call.
     */
    private void contextSeenByEveryExtension(MqttVersion v, ProtocolVersion expected) throws Exception {
        String cid = id("alice");
        RawClient alice = connect(login(v, cid, "alice"));
        assertEquals(List.of(1), RawClient.codes(alice.subscribe(1, "plant/#", 1)));
        alice.publish("plant/a", 1, 2, "on");
        // her PUBACK and her own message come in either order
        for (int i = 0; i < 2; i++) {
            MqttMessage m = alice.poll(RawClient.TIMEOUT_MS);
            if (m instanceof MqttPublishMessage p) {
                assertEquals("plant/a", p.variableHeader().topicName());
                alice.acknowledge(p);
            } else {
                assertEquals(MqttMessageType.PUBACK, m == null ? null : m.fixedHeader().messageType());
                assertEquals(0, Packets.reasonCode(m), "writer may publish");
            }
        }
        alice.disconnect();
        List<String> expectedCalls = List.of("authenticate", "authorizeSubscribe plant/#", "onConnect",
                "onSubscribe plant/#", "authorizePublish plant/a", "onMessageReceived plant/a",
                "onMessageDelivered plant/a", "onDisconnect true");
        await(() -> whatOf(cid).containsAll(expectedCalls), "all calls for " + cid + ", so far " + whatOf(cid));

        List<Call> seen = callsOf(cid);
        assertEquals(expectedCalls.size(), seen.size(), "one call each: " + whatOf(cid));
        ConnectionContext ctx = seen.get(0).ctx();
        InetSocketAddress brokerEnd = new InetSocketAddress("127.0.0.1", port);
        for (Call c : seen) {
            String at = v + ", " + c.what() + ": ";
            assertSame(ctx, c.ctx(), at + "the same context for every call of the connection");
            assertEquals(io.brokkr.broker.TestBroker.LISTENER, c.listenerName(), at + "listener name");
            assertEquals("tcp", c.listenerType(), at + "listener type");
            assertEquals(brokerEnd, c.local(), at + "local address");
            assertEquals(alice.localAddress(), c.remote(), at + "remote address is the client's end");
            assertEquals(expected, c.version(), at + "version");
            assertEquals(cid, c.clientId(), at + "client id");
            assertEquals("alice", c.username(), at + "user name");
            assertNull(c.sslSession(), at + "no TLS session on a plain TCP listener");
            assertNull(c.peerCertificates(), at + "no peer certificates on a plain TCP listener");
            if (c.what().equals("authenticate")) {
                assertNull(c.principal(), at + "no principal while authenticating");
                assertNull(c.token(), at + "no attribute yet");
            } else {
                assertEquals(ALICE, c.principal(), at + "the principal the authenticator returned");
                assertEquals("token-" + cid, c.token(), at + "the attribute the authenticator set");
            }
        }
        assertEquals(Set.of("writer", "reader"), ctx.principal().roles());
        assertEquals("acme", ctx.principal().attributes().get("tenant"));
        assertEquals("alice", ctx.principal().getName());
    }

    @Test
    void mqtt311ContextSeenByEveryExtension() throws Exception {
        contextSeenByEveryExtension(MqttVersion.MQTT_3_1_1, ProtocolVersion.MQTT_3_1_1);
    }

    @Test
    void mqtt5ContextSeenByEveryExtension() throws Exception {
        contextSeenByEveryExtension(MqttVersion.MQTT_5, ProtocolVersion.MQTT_5);
    }

    /**
     * The authorizer decides on the principal's roles: bob (reader) may subscribe but not publish, carol (allowed
     * without a principal) neither, alice (writer) may publish and bob receives it.
     */
    /**
     * Connections of one listener share one object for their local address (96 bytes each otherwise, README
     * "Memory per idle connection"); each still sees its own remote address. The sharing needs Netty's epoll channel.
     */
    @Test
    void connectionsOfAListenerShareTheirLocalAddress() throws Exception {
        String a = id("share-a");
        String b = id("share-b");
        connect(login(MqttVersion.MQTT_5, a, "bob"));
        RawClient second = connect(login(MqttVersion.MQTT_3_1_1, b, "bob"));
        InetSocketAddress first = callsOf(a).get(0).local();
        Call other = callsOf(b).get(0);
        assertEquals(new InetSocketAddress("127.0.0.1", port), other.local());
        assertEquals(second.localAddress(), other.remote(), "its own remote address");
        org.junit.jupiter.api.Assumptions.assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "epoll only");
        assertSame(first, other.local(), "one object for the listener's local address");
    }

    @Test
    void mqtt5PrincipalRolesDecide() throws Exception {
        RawClient bob = connect(login(MqttVersion.MQTT_5, id("bob"), "bob"));
        RawClient carol = connect(login(MqttVersion.MQTT_5, id("carol"), "carol"));
        RawClient alice = connect(login(MqttVersion.MQTT_5, id("alice"), "alice"));
        assertEquals(List.of(1), RawClient.codes(bob.subscribe(1, "plant/#", 1)), "reader may subscribe");
        assertEquals(List.of(0x87), RawClient.codes(carol.subscribe(1, "plant/#", 1)), "no principal: denied");
        assertEquals(0x87, Packets.reasonCode(bob.publish1("plant/b", "x", 2)), "reader may not publish");
        assertEquals(0x87, Packets.reasonCode(carol.publish1("plant/c", "x", 2)), "no principal: denied");
        assertEquals(0, Packets.reasonCode(alice.publish1("plant/a", "ok", 2)), "writer may publish");
        bob.acknowledge(bob.expectPublish("plant/a", "ok"));
        assertTrue(callsOf(id("carol")).stream().filter(c -> c.what().startsWith("authorize"))
                .allMatch(c -> c.principal() == null && c.token().equals("token-" + id("carol"))),
                "carol's context has no principal, and the attribute: " + callsOf(id("carol")));
    }

    @Test
    void mqtt311PrincipalRolesDecide() throws Exception {
        RawClient watch = connect(login(MqttVersion.MQTT_3_1_1, id("watch"), "alice"));
        assertEquals(List.of(1), RawClient.codes(watch.subscribe(1, "plant/#", 1)));
        RawClient bob = connect(login(MqttVersion.MQTT_3_1_1, id("bob"), "bob"));
        RawClient carol = connect(login(MqttVersion.MQTT_3_1_1, id("carol"), "carol"));
        assertEquals(List.of(0x80), RawClient.codes(carol.subscribe(1, "plant/#", 1)), "no principal: denied");
        // a denied 3.1.1 publish is acknowledged and dropped
        bob.publish1("plant/b", "x", 2);
        List<MqttMessage> got = receivedBefore(watch, bob);
        assertTrue(got.isEmpty(), "the reader's publish was not routed: " + got);
        RawClient alice = connect(login(MqttVersion.MQTT_3_1_1, id("alice"), "alice"));
        alice.publish1("plant/a", "ok", 2);
        watch.acknowledge(watch.expectPublish("plant/a", "ok"));
    }

    /**
     * The will is authorized with the principal of the client that sets it (bob may not publish on plant/, so his
     * CONNECT is refused), and reaches the interceptor with the context of that connection, attributes and principal
     * included, after the connection is gone.
     */
    @Test
    void willCarriesTheContextOfItsConnection() throws Exception {
        String topic = "plant/will/" + id("t");
        RawClient watch = connect(login(MqttVersion.MQTT_5, id("watch"), "bob"));
        watch.subscribe(1, topic, 1);

        RawClient refused = open();
        int rc = refused.connack(withWill(id("bob"), "bob", topic)).variableHeader().connectReturnCode()
                .byteValue() & 0xFF;
        assertEquals(0x87, rc, "bob's will refuses his CONNECT");
        assertTrue(callsOf(id("bob")).stream().anyMatch(c -> c.what().equals("authorizePublish " + topic)
                && BOB.equals(c.principal())), "the will was authorized with bob's principal");

        String cid = id("alice");
        RawClient alice = connect(withWill(cid, "alice", topic));
        alice.drop();
        watch.acknowledge(watch.expectPublish(topic, "gone"));
        await(() -> whatOf(cid).contains("onMessageReceived " + topic), "the will reached the interceptor");
        ConnectionContext connected = callsOf(cid).stream().filter(c -> c.what().equals("onConnect")).findFirst()
                .orElseThrow().ctx();
        Call will = callsOf(cid).stream().filter(c -> c.what().equals("onMessageReceived " + topic)).findFirst()
                .orElseThrow();
        assertSame(connected, will.ctx(), "the will's publisher is the connection that set it");
        assertEquals(ALICE, will.principal());
        assertEquals("token-" + cid, will.token());
    }

    private static MqttConnectMessage withWill(String clientId, String user, String topic) {
        return MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId(clientId)
                .cleanSession(true).keepAlive(10).hasUser(true).username(user).hasPassword(true)
                .password(utf8("pw")).willFlag(true).willTopic(topic).willMessage(utf8("gone"))
                .willQoS(MqttQoS.AT_LEAST_ONCE).willProperties(MqttProperties.NO_PROPERTIES).build();
    }
}
