package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.broker.config.BrokerConfig;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code sys.topics.role} (default {@code admin}): when no authorizer decides on a SUBSCRIBE, a filter that can match
 * a {@code $SYS} topic is refused (0x80 in 3.1.1, 0x87 in 5.0) unless the client's principal has the role; an
 * authorizer's ALLOW or DENY is the answer, whatever the role. Filters that cannot match {@code $SYS} topics
 * ({@code #}, {@code +/broker/#} [MQTT-4.7.2-1], {@code $SYSTEM/x}) are not concerned.
 */
class SysTopicsAccessTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("sys.interval", "1"); // the retained $SYS/broker/version is there when a subscription is granted
        return m; // sys.topics.role: the default
    }

    @BeforeAll
    void extensions() {
        // root has the admin role, ops another role; anyone else comes in anonymously (allow.anonymous)
        broker.setAuthenticators(List.of((ctx, req) -> CompletableFuture.completedFuture(
                "root".equals(ctx.username()) ? AuthenticationResult.allow(BrokkrPrincipal.of("root", "admin"))
                        : "ops".equals(ctx.username()) ? AuthenticationResult.allow(BrokkrPrincipal.of("ops", "operator"))
                        : AuthenticationResult.next())));
        // grafana may read $SYS/broker/#; root may not read uptime; everything else is left to the broker
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizeSubscribe(ConnectionContext c, String filter, int qos) {
                if ("grafana".equals(c.username()) && filter.equals("$SYS/broker/#")) {
                    return Decision.ALLOW;
                }
                if ("root".equals(c.username()) && filter.equals("$SYS/broker/uptime")) {
                    return Decision.DENY;
                }
                return Decision.NEXT;
            }
        }));
    }

    private RawClient client(MqttVersion v, String user) throws Exception {
        RawClient c = open();
        var b = MqttMessageBuilders.connect().protocolVersion(v).clientId(id((user == null ? "anon" : user) + v.protocolLevel()))
                .cleanSession(true).keepAlive(30);
        if (user != null) {
            b.hasUser(true).username(user);
        }
        assertEquals(0, RawClient.returnCode(c.connack(b.build())));
        return c;
    }

    private static int code(RawClient c, String filter) throws Exception {
        return RawClient.codes(c.subscribe(1, filter, 0)).get(0);
    }

    /** Subscribes, expects the grant and the retained $SYS/broker/version. */
    private static void granted(RawClient c, String filter) throws Exception {
        assertEquals(0, code(c, filter), filter);
        MqttPublishMessage p = c.expectPublish();
        assertTrue(p.variableHeader().topicName().startsWith("$SYS/broker/"), p.variableHeader().topicName());
    }

    @Test
    void anonymousClientsAreRefusedSysFilters() throws Exception {
        RawClient v3 = client(MqttVersion.MQTT_3_1_1, null);
        RawClient v5 = client(MqttVersion.MQTT_5, null);
        for (String f : new String[] {"$SYS/#", "$SYS", "$SYS/broker/+", "$SYS/+/version", "$SYS/broker/version"}) {
            assertEquals(0x80, code(v3, f), f);
            assertEquals(0x87, code(v5, f), f);
        }
        assertEquals(0x87, code(v5, "$share/g/$SYS/#"));
        // filters that cannot match a $SYS topic are granted
        for (String f : new String[] {"#", "+/broker/#", "+", "$SYSTEM/x", "a/$SYS/#"}) {
            assertEquals(0, code(v3, f), f);
            assertEquals(0, code(v5, f), f);
        }
        // granted, and still nothing of $SYS arrives: the fence would return it
        assertTrue(fence(v5).isEmpty());
    }

    @Test
    void aPrincipalWithoutTheRoleIsRefused() throws Exception {
        assertEquals(0x87, code(client(MqttVersion.MQTT_5, "ops"), "$SYS/#"));
        assertEquals(0x80, code(client(MqttVersion.MQTT_3_1_1, "ops"), "$SYS/#"));
    }

    @Test
    void thePrincipalWithTheRoleReadsSys() throws Exception {
        granted(client(MqttVersion.MQTT_5, "root"), "$SYS/#");
        granted(client(MqttVersion.MQTT_3_1_1, "root"), "$SYS/broker/version");
        // an authorizer's DENY is the answer even for the role
        assertEquals(0x87, code(client(MqttVersion.MQTT_5, "root"), "$SYS/broker/uptime"));
    }

    @Test
    void anAuthorizersAllowOpensSysWithoutTheRole() throws Exception {
        granted(client(MqttVersion.MQTT_5, "grafana"), "$SYS/broker/#");
        granted(client(MqttVersion.MQTT_3_1_1, "grafana"), "$SYS/broker/#");
        // a filter it does not decide on falls to the role check
        assertEquals(0x87, code(client(MqttVersion.MQTT_5, "grafana"), "$SYS/#"));
    }

    @Test
    void anEmptyRoleLetsAnyoneSubscribe() throws Exception {
        BrokerConfig before = broker.config();
        Map<String, String> m = config();
        m.put("sys.topics.role", "");
        broker.reconfigure(BrokerConfig.fromProperties(m));
        try {
            granted(client(MqttVersion.MQTT_5, null), "$SYS/#");
            granted(client(MqttVersion.MQTT_3_1_1, "ops"), "$SYS/#");
            // an authorizer's DENY still holds
            assertEquals(0x87, code(client(MqttVersion.MQTT_5, "root"), "$SYS/broker/uptime"));
        } finally {
            broker.reconfigure(before);
        }
        assertEquals(0x87, code(client(MqttVersion.MQTT_5, null), "$SYS/#"));
    }

    @Test
    void theKey() {
        assertEquals("admin", BrokerConfig.defaults().sysTopicsRole());
        assertEquals("admin", BrokerConfig.fromProperties(Map.of()).sysTopicsRole());
        assertEquals("", BrokerConfig.fromProperties(Map.of("sys.topics.role", "")).sysTopicsRole());
        assertEquals("", BrokerConfig.fromProperties(Map.of("sys.topics.role", "  ")).sysTopicsRole());
        assertEquals("ops", BrokerConfig.fromProperties(Map.of("sys.topics.role", " ops ")).sysTopicsRole());
    }
}
