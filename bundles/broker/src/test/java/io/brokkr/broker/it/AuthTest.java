package io.brokkr.broker.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.api.auth.AuthenticationResult;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** allow.anonymous=false: CONNACK 0x86/0x87 (MQTT 5) and 4/5 (3.1.1) for bad credentials and missing user. */
class AuthTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("allow.anonymous", "false");
        return m;
    }

    @BeforeAll
    void users() {
        broker.setAuthenticators(List.of((ctx, req) -> {
            if (!"alice".equals(ctx.username())) {
                return CompletableFuture.completedFuture(AuthenticationResult.next());
            }
            boolean ok = Arrays.equals("secret".getBytes(), req.password());
            return CompletableFuture.completedFuture(ok ? AuthenticationResult.allow()
                    : AuthenticationResult.deny(AuthenticationResult.BAD_USERNAME_OR_PASSWORD, "wrong password"));
        }));
    }

    private MqttConnectMessage connect(MqttVersion v, String user, String password) {
        MqttMessageBuilders.ConnectBuilder b = MqttMessageBuilders.connect().protocolVersion(v).clientId(id("c"))
                .cleanSession(true).keepAlive(30);
        if (user != null) {
            b.hasUser(true).username(user);
        }
        if (password != null) {
            b.hasPassword(true).password(password.getBytes());
        }
        return b.build();
    }

    private int attempt(MqttVersion v, String user, String password) throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(connect(v, user, password));
        int rc = RawClient.returnCode(ack);
        if (rc != 0) {
            assertTrue(c.awaitClosed(), "refused connection closed");
        }
        return rc;
    }

    @Test
    void v5Codes() throws Exception {
        assertEquals(0x87, attempt(MqttVersion.MQTT_5, null, null), "anonymous: not authorized");
        assertEquals(0x86, attempt(MqttVersion.MQTT_5, "alice", "wrong"), "authenticator denies");
        assertEquals(0x86, attempt(MqttVersion.MQTT_5, "bob", "x"), "unknown user");
        assertEquals(0, attempt(MqttVersion.MQTT_5, "alice", "secret"));
    }

    @Test
    void v311Codes() throws Exception {
        assertEquals(5, attempt(MqttVersion.MQTT_3_1_1, null, null));
        assertEquals(4, attempt(MqttVersion.MQTT_3_1_1, "alice", "wrong"));
        assertEquals(4, attempt(MqttVersion.MQTT_3_1_1, "bob", "x"));
        assertEquals(0, attempt(MqttVersion.MQTT_3_1_1, "alice", "secret"));
    }

    @Test
    void v31Codes() throws Exception {
        assertEquals(5, attempt(MqttVersion.MQTT_3_1, null, null));
        assertEquals(4, attempt(MqttVersion.MQTT_3_1, "alice", "wrong"));
        assertEquals(0, attempt(MqttVersion.MQTT_3_1, "alice", "secret"));
    }

    @Test
    void pahoSeesBadCredentials() throws Exception {
        MqttClient p = new MqttClient(uri, id("p"), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setUserName("alice");
        o.setPassword("nope".toCharArray());
        MqttException e = assertThrows(MqttException.class, () -> p.connect(o));
        assertEquals(MqttException.REASON_CODE_FAILED_AUTHENTICATION, e.getReasonCode());
        o.setPassword("secret".toCharArray());
        p.connect(o);
        assertTrue(p.isConnected());
        p.disconnect();
        p.close();
    }

    @Test
    void pahoV5SeesBadCredentials() throws Exception {
        org.eclipse.paho.mqttv5.client.MqttClient p = new org.eclipse.paho.mqttv5.client.MqttClient(uri, id("p5"),
                new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
        org.eclipse.paho.mqttv5.client.MqttConnectionOptions o = new org.eclipse.paho.mqttv5.client.MqttConnectionOptions();
        o.setUserName("alice");
        o.setPassword("nope".getBytes());
        org.eclipse.paho.mqttv5.common.MqttException e = assertThrows(
                org.eclipse.paho.mqttv5.common.MqttException.class, () -> p.connect(o));
        assertEquals(0x86, e.getReasonCode());
        p.close();
    }
}
