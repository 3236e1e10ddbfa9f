package io.brokkr.auth.jaas;


import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.engine.Broker;
import io.brokkr.broker.testing.Connects;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JAAS authenticator in the real engine with Paho 5, Paho 3.1.1 and mosquitto_pub, logging in to a realm backed
 * by Karaf's own PropertiesLoginModule (the module of Karaf's "karaf" realm) over a users.properties file.
 */
class JaasAuthenticatorTest {

    @TempDir
    Path dir;
    Broker broker;
    JaasAuthenticator auth;
    int port;
    final Map<String, BrokkrPrincipal> principals = new ConcurrentHashMap<>();
    Configuration before;

    @BeforeEach
    void realm() throws Exception {
        Path users = dir.resolve("users.properties");
        Files.writeString(users, String.join("\n",
                "alice = secret,_g_:operators",
                "bob = pw2,viewer",
                "_g_\\:operators = group,operator,metrics",
                ""));
        before = Configuration.getConfiguration();
        Configuration.setConfiguration(new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                if (!name.equals("test")) {
                    return null;
                }
                return new AppConfigurationEntry[] {new AppConfigurationEntry(
                        "org.apache.karaf.jaas.modules.properties.PropertiesLoginModule",
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of("users", users.toString()))};
            }
        });
    }

    @AfterEach
    void stop() {
        if (auth != null) {
            auth.close();
        }
        if (broker != null) {
            broker.stop();
        }
        Configuration.setConfiguration(before);
    }

    void start(boolean allowAnonymous, Map<String, Object> cfg) throws Exception {
        broker = new Broker(BrokerConfig.defaults().sysInterval(0).allowAnonymous(allowAnonymous));
        broker.start();
        port = broker.openListener(ListenerConfig.tcp("t", "127.0.0.1", 0)).port();
        auth = new JaasAuthenticator(JaasAuthenticator.Settings.fromProperties(cfg));
        broker.setAuthenticators(List.of(auth));
        broker.setAuthorizers(List.of(new Authorizer() {
            @Override
            public Decision authorizeSubscribe(ConnectionContext c, String filter, int qos) {
                if (c.principal() != null) {
                    principals.put(c.clientId(), c.principal());
                }
                return Decision.NEXT;
            }
        }));
    }

    int connect5(String id, String user, String password, boolean subscribe) throws Exception {
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, id, new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setConnectionTimeout(20);
        if (user != null) {
            o.setUserName(user);
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        }
        try {
            c.connect(o);
            if (subscribe) {
                c.subscribe("x/#", 1);
            }
            c.disconnect();
            return 0;
        } catch (MqttException e) {
            return e.getReasonCode();
        } finally {
            c.close();
        }
    }

    int connect311(String user, String password) throws Exception {
        return Connects.v311("tcp://127.0.0.1:" + port, "c3-" + System.nanoTime(), user, password, 30);
    }

    @Test
    void realmUsersAndTheirRoles() throws Exception {
        start(false, Map.of("realm", "test"));
        assertEquals(0, connect5("a1", "alice", "secret", true));
        BrokkrPrincipal p = principals.get("a1");
        assertNotNull(p);
        assertEquals("alice", p.name());
        assertEquals(java.util.Set.of("operator", "metrics"), p.roles()); // the roles of her group
        assertEquals(0, connect5("b1", "bob", "pw2", true));
        assertEquals(java.util.Set.of("viewer"), principals.get("b1").roles());

        assertEquals(0x86, connect5("a2", "alice", "wrong", false));
        assertEquals(0x86, connect5("z1", "zoe", "secret", false)); // unknown user
        assertEquals(0x87, connect5("n1", null, null, false));      // no user name: next, allow.anonymous=false
        assertEquals(0, connect311("alice", "secret"));
        assertEquals(4, connect311("alice", "wrong"));
        assertEquals(0, mosquittoPub("alice", "secret"));
        assertTrue(mosquittoPub("alice", "wrong") != 0);
    }

    @Test
    void onFailureNextAndAMissingRealm() throws Exception {
        start(true, Map.of("realm", "test", "on.failure", "next"));
        assertEquals(0, connect5("a2", "alice", "wrong", true)); // left to allow.anonymous = true
        assertNull(principals.get("a2"));
        auth.close();
        broker.stop();
        start(true, Map.of("realm", "nosuchrealm"));
        assertEquals(0x88, connect5("a3", "alice", "secret", false)); // not the client's fault
        assertThrows(IllegalArgumentException.class,
                () -> JaasAuthenticator.Settings.fromProperties(Map.of("on.failure", "maybe")));
    }

    @Test
    void roleClassesAreConfigurable() throws Exception {
        // GroupPrincipal as well: the group's name becomes a role too
        start(false, Map.of("realm", "test", "role.principal.classes",
                "RolePrincipal, org.apache.karaf.jaas.boot.principal.GroupPrincipal"));
        assertEquals(0, connect5("a1", "alice", "secret", true));
        assertEquals(java.util.Set.of("operator", "metrics", "operators"), principals.get("a1").roles());
    }

    int mosquittoPub(String user, String password) throws Exception {
        Process p = new ProcessBuilder("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-V",
                "mqttv5", "-u", user, "-P", password, "-t", "t/x", "-m", "hi").redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return p.exitValue();
    }
}
