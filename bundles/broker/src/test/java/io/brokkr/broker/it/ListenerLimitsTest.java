package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.broker.Await;
import io.brokkr.broker.TestBroker;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.transport.Listener;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Per-listener keys: {@code allow.anonymous} (overriding the broker's for the listener's connections, both ways),
 * {@code max.connections} (a connection beyond the bound is closed at once and counted; a changed bound applies to
 * the next connections) and {@code auth.filter} (which Authenticator services, by their service properties, apply
 * to the listener's connections).
 */
class ListenerLimitsTest extends BrokerTestBase {

    /** Allows user "a" (password "a"), else next: registered as provider=passwd. */
    static final Authenticator PASSWD = (ctx, req) -> CompletableFuture.completedFuture(
            "a".equals(ctx.username()) && req.password() != null
                    && "a".equals(new String(req.password(), StandardCharsets.UTF_8))
                    ? AuthenticationResult.allow() : AuthenticationResult.next());
    /** Allows user "b" (any password), else next: registered as provider=http. */
    static final Authenticator HTTP = (ctx, req) -> CompletableFuture.completedFuture(
            "b".equals(ctx.username()) ? AuthenticationResult.allow() : AuthenticationResult.next());

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("allow.anonymous", "false");
        return m;
    }

    @BeforeAll
    void authenticators() {
        broker.setRegisteredAuthenticators(List.of(
                new Broker.RegisteredAuthenticator(PASSWD, Map.of("provider", "passwd", "service.ranking", 10,
                        "component.name", "io.brokkr.auth.passwd")),
                new Broker.RegisteredAuthenticator(HTTP, Map.of("provider", "http", "service.ranking", 5,
                        "component.name", "io.brokkr.auth.http"))));
    }

    private int listener(String name, String... keyValues) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            options.put(keyValues[i], keyValues[i + 1]);
        }
        return broker.openListener(new ListenerConfig(name, "tcp", "127.0.0.1", 0, null, options)).port();
    }

    private MqttConnectMessage connect(MqttVersion v, String user, String password) {
        MqttMessageBuilders.ConnectBuilder b = MqttMessageBuilders.connect().protocolVersion(v).clientId(id("c"))
                .cleanSession(true).keepAlive(30);
        if (user != null) {
            b.hasUser(true).username(user);
        }
        if (password != null) {
            b.hasPassword(true).password(password.getBytes(StandardCharsets.UTF_8));
        }
        return b.build();
    }

    /** The CONNACK return code of a CONNECT on {@code port}. */
    private int attempt(int port, MqttVersion v, String user, String password) throws Exception {
        RawClient c = track(RawClient.open(port));
        MqttConnAckMessage ack = c.connack(connect(v, user, password));
        int rc = RawClient.returnCode(ack);
        if (rc != 0) {
            assertTrue(c.awaitClosed(), "refused connection closed");
        } else {
            c.disconnect();
        }
        return rc;
    }

    @Test
    void allowAnonymousPerListener() throws Exception {
        int open = listener("anon", "allow.anonymous", "true");
        assertEquals(0, attempt(open, MqttVersion.MQTT_3_1_1, null, null), "anonymous on allow.anonymous=true");
        assertEquals(0, attempt(open, MqttVersion.MQTT_5, null, null));
        assertEquals(0, attempt(open, MqttVersion.MQTT_5, "a", "a"), "authenticators still decide there");
        assertEquals(5, attempt(port, MqttVersion.MQTT_3_1_1, null, null), "the broker's allow.anonymous=false");
        assertEquals(0x87, attempt(port, MqttVersion.MQTT_5, null, null));
    }

    /** The other way: an open broker with one listener closed to anonymous clients. */
    @Test
    void disallowAnonymousPerListener() throws Exception {
        Map<String, String> cfg = super.config(); // allow.anonymous defaults to true
        Broker open = TestBroker.start(cfg);
        try {
            int anyone = TestBroker.port(open);
            int closed = open.openListener(new ListenerConfig("closed", "tcp", "127.0.0.1", 0, null,
                    Map.of("allow.anonymous", "false"))).port();
            open.setAuthenticators(List.of(PASSWD));
            assertEquals(0, attempt(anyone, MqttVersion.MQTT_3_1_1, null, null));
            assertEquals(5, attempt(closed, MqttVersion.MQTT_3_1_1, null, null), "not authorized");
            assertEquals(0x87, attempt(closed, MqttVersion.MQTT_5, null, null));
            assertEquals(4, attempt(closed, MqttVersion.MQTT_3_1_1, "x", "y"), "bad user name or password");
            assertEquals(0, attempt(closed, MqttVersion.MQTT_3_1_1, "a", "a"));
        } finally {
            open.stop();
        }
    }

    @Test
    void authFilterSelectsAuthenticators() throws Exception {
        int passwdOnly = listener("passwd-only", "auth.filter", "(provider=passwd)");
        int either = listener("either", "auth.filter", "(|(component.name=*.http)(service.ranking>=10))");
        int none = listener("none", "auth.filter", "(provider=ldap)", "allow.anonymous", "true");
        assertEquals(0, attempt(port, MqttVersion.MQTT_3_1_1, "a", "a"), "default: all authenticators");
        assertEquals(0, attempt(port, MqttVersion.MQTT_3_1_1, "b", "x"));
        assertEquals(0, attempt(passwdOnly, MqttVersion.MQTT_3_1_1, "a", "a"));
        assertEquals(4, attempt(passwdOnly, MqttVersion.MQTT_3_1_1, "b", "x"), "the http one does not apply");
        assertEquals(0x86, attempt(passwdOnly, MqttVersion.MQTT_5, "b", "x"));
        assertEquals(0, attempt(either, MqttVersion.MQTT_3_1_1, "a", "a"));
        assertEquals(0, attempt(either, MqttVersion.MQTT_3_1_1, "b", "x"));
        // no authenticator applies: the listener's allow.anonymous decides, for users too
        assertEquals(0, attempt(none, MqttVersion.MQTT_3_1_1, "b", "x"));
        // a changed filter applies to the next connections
        broker.updateListener(new ListenerConfig("passwd-only", "tcp", "127.0.0.1", passwdOnly, null,
                Map.of("auth.filter", "(provider=http)")));
        assertEquals(0, attempt(passwdOnly, MqttVersion.MQTT_3_1_1, "b", "x"));
        assertEquals(4, attempt(passwdOnly, MqttVersion.MQTT_3_1_1, "a", "a"));
    }

    @Test
    void badKeysLeaveTheListenerUnboundWithTheReason() {
        for (String[] c : new String[][] {
                {"bad-filter", "auth.filter", "(provider=passwd", "listener bad-filter: auth.filter: invalid filter"},
                {"bad-max", "max.connections", "-1", "listener bad-max: max.connections: -1 is outside [0, 2147483647]"},
                {"bad-anon", "allow.anonymous", "maybe", "listener bad-anon: allow.anonymous: 'maybe' is not true or false"}}) {
            broker.openListener(new ListenerConfig(c[0], "tcp", "127.0.0.1", 0, null, Map.of(c[1], c[2])));
            io.brokkr.api.ListenerInfo info = broker.listener(c[0]).info();
            assertFalse(info.bound(), c[0]);
            assertTrue(info.error().startsWith(c[3]), info.error());
            broker.closeListener(c[0]);
        }
    }

    /** A listener changed to a bad value keeps the configuration it had (the error is logged). */
    @Test
    void badChangeKeepsTheListenersKeys() throws Exception {
        int keep = listener("keep", "auth.filter", "(provider=passwd)");
        broker.updateListener(new ListenerConfig("keep", "tcp", "127.0.0.1", keep, null,
                Map.of("auth.filter", "(provider=http")));
        assertEquals("(provider=passwd)", broker.listener("keep").options().authFilter().toString());
        assertEquals(0, attempt(keep, MqttVersion.MQTT_3_1_1, "a", "a"));
        assertEquals(4, attempt(keep, MqttVersion.MQTT_3_1_1, "b", "x"));
    }

    @Test
    void maxConnections() throws Exception {
        int limited = listener("limited", "max.connections", "2", "allow.anonymous", "true");
        Listener l = broker.listener("limited");
        RawClient first = track(RawClient.connect(limited, Packets.connect(MqttVersion.MQTT_3_1_1, id("1"), true,
                30, null)));
        track(RawClient.connect(limited, Packets.connect(MqttVersion.MQTT_3_1_1, id("2"), true, 30, null)));
        // the third is closed before it can send anything
        RawClient third = track(RawClient.open(limited));
        assertTrue(third.awaitClosed(), "third connection closed at once");
        RawClient fourth = track(RawClient.open(limited));
        assertTrue(fourth.awaitClosed(), "fourth connection closed at once");
        assertEquals(2, l.refusedConnections(), "refusals counted");
        assertEquals(2, l.info().connections());
        // one leaves: the next one is taken
        first.disconnect();
        Await.until("a place is free", RawClient.TIMEOUT_MS, () -> l.info().connections() < 2);
        track(RawClient.connect(limited, Packets.connect(MqttVersion.MQTT_3_1_1, id("5"), true, 30, null)));
        // no bound any more (0): more than two
        broker.updateListener(new ListenerConfig("limited", "tcp", "127.0.0.1", limited, null,
                Map.of("max.connections", "0", "allow.anonymous", "true")));
        track(RawClient.connect(limited, Packets.connect(MqttVersion.MQTT_3_1_1, id("6"), true, 30, null)));
        track(RawClient.connect(limited, Packets.connect(MqttVersion.MQTT_3_1_1, id("7"), true, 30, null)));
        assertEquals(4, l.info().connections());
        assertEquals(2, l.refusedConnections());
    }
}
