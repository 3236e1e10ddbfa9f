package io.brokkr.itests;

import static org.junit.Assert.assertEquals;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.api.auth.Authenticator;
import io.brokkr.api.auth.Authorizer;
import java.nio.charset.StandardCharsets;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceRegistration;

/**
 * SPI 2.0 in Karaf: an {@link Authenticator} and an {@link Authorizer} registered as OSGi services are picked up by
 * the broker; the authenticator's principal (roles) and connection attribute reach the authorizer through the
 * {@link ConnectionContext}, and decide what a real client (Paho, MQTT 3.1.1 over TCP) may publish.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ExtensionsIT extends BrokerTestSupport {

    @Before
    public void brokkrCore() throws Exception {
        ensureFeature("brokkr-core");
    }

    private static MqttClient login(String user, int port) throws MqttException {
        MqttClient c = client("ext-it-" + user, port);
        MqttConnectOptions o = options();
        o.setUserName(user);
        o.setPassword("pw".toCharArray());
        c.connect(o);
        return c;
    }

    @Test
    public void principalRolesFromTheAuthenticatorDecideInTheAuthorizer() throws Exception {
        Authorizer authorizer = new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext ctx, String topic, int qos, boolean retain) {
                if (!topic.startsWith("itest/ext/")) {
                    return Decision.NEXT;
                }
                return ctx.hasRole("operator") && topic.equals("itest/ext/" + ctx.attributes().get("itest.plant"))
                        ? Decision.ALLOW : Decision.DENY;
            }
        };
        Authenticator authenticator = (ctx, req) -> {
            if ("nobody".equals(ctx.username())) {
                return CompletableFuture.completedFuture(AuthenticationResult.deny(
                        AuthenticationResult.BAD_USERNAME_OR_PASSWORD, "nobody"));
            }
            ctx.attributes().put("itest.plant", "p1");
            Set<String> roles = "op".equals(ctx.username()) ? Set.of("operator") : Set.of("viewer");
            return CompletableFuture.completedFuture(
                    AuthenticationResult.allow(new BrokkrPrincipal(ctx.username(), roles, Map.of())));
        };
        List<ServiceRegistration<?>> regs = List.of(
                bundleContext.registerService(Authorizer.class, authorizer, new Hashtable<>()),
                bundleContext.registerService(Authenticator.class, authenticator, new Hashtable<>()));
        int port = openListener("itest-ext");
        MqttClient viewer = null;
        MqttClient op = null;
        try {
            await("the authenticator is used", () -> {
                try {
                    closeQuietly(login("nobody", port));
                    return false;
                } catch (MqttException e) {
                    return e.getReasonCode() == MqttException.REASON_CODE_FAILED_AUTHENTICATION;
                }
            });
            viewer = login("view", port);
            BlockingQueue<String> got = new LinkedBlockingQueue<>();
            viewer.subscribe("itest/ext/#", 1, (t, m) -> got.add(t + "=" + new String(m.getPayload(),
                    StandardCharsets.UTF_8)));
            // 3.1.1: a denied publish is acknowledged and dropped; Paho returns once it has the PUBACK
            viewer.publish("itest/ext/p1", "from-viewer".getBytes(StandardCharsets.UTF_8), 1, false);
            op = login("op", port);
            op.publish("itest/ext/p2", "other-plant".getBytes(StandardCharsets.UTF_8), 1, false);
            op.publish("itest/ext/p1", "from-operator".getBytes(StandardCharsets.UTF_8), 1, false);
            // the denied publishes were acknowledged before the allowed one was sent, and a routed message would have
            // reached the subscriber before it: the first message is the only one routed
            assertEquals("only the operator's publish to its own plant is routed", "itest/ext/p1=from-operator",
                    got.poll(10, TimeUnit.SECONDS));
        } finally {
            closeQuietly(op);
            closeQuietly(viewer);
            for (ServiceRegistration<?> r : regs) {
                r.unregister();
            }
            configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, "itest-ext", "?").delete();
        }
    }

    /**
     * Authorizers are asked in descending service.ranking order through the real DS component, and a ranking
     * changed at runtime (service properties modified) re-orders them without re-registering anything.
     */
    @Test
    public void authorizersAreAskedByServiceRankingAlsoAfterItChanges() throws Exception {
        Authorizer deny = new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext ctx, String topic, int qos, boolean retain) {
                return topic.startsWith("itest/rank/") ? Decision.DENY : Decision.NEXT;
            }
        };
        Authorizer allow = new Authorizer() {
            @Override
            public Decision authorizePublish(ConnectionContext ctx, String topic, int qos, boolean retain) {
                return topic.startsWith("itest/rank/") ? Decision.ALLOW : Decision.NEXT;
            }
        };
        Hashtable<String, Object> high = new Hashtable<>();
        high.put(org.osgi.framework.Constants.SERVICE_RANKING, 10);
        Hashtable<String, Object> low = new Hashtable<>();
        low.put(org.osgi.framework.Constants.SERVICE_RANKING, 5);
        ServiceRegistration<Authorizer> denyReg = bundleContext.registerService(Authorizer.class, deny, high);
        ServiceRegistration<Authorizer> allowReg = bundleContext.registerService(Authorizer.class, allow, low);
        int port = openListener("itest-rank");
        MqttClient sub = client("rank-it-sub", port);
        MqttClient pub = client("rank-it-pub", port);
        try {
            sub.connect(options());
            BlockingQueue<String> got = new LinkedBlockingQueue<>();
            sub.subscribe("itest/rank/#", 1, (t, m) -> got.add(new String(m.getPayload(), StandardCharsets.UTF_8)));
            pub.connect(options());
            // 3.1.1: a denied publish is acknowledged and dropped; Paho returns once it has the PUBACK
            pub.publish("itest/rank/a", "denied".getBytes(StandardCharsets.UTF_8), 1, false);
            Hashtable<String, Object> top = new Hashtable<>();
            top.put(org.osgi.framework.Constants.SERVICE_RANKING, 20);
            allowReg.setProperties(top);
            String first = null;
            for (int i = 0; i < 50 && first == null; i++) {
                pub.publish("itest/rank/b", ("allowed-" + i).getBytes(StandardCharsets.UTF_8), 1, false);
                first = got.poll(200, TimeUnit.MILLISECONDS);
            }
            assertEquals("the higher ranked DENY decided first; the ALLOW ranked above it decides now",
                    "allowed-", first == null ? null : first.replaceAll("[0-9]+$", ""));
        } finally {
            closeQuietly(pub);
            closeQuietly(sub);
            denyReg.unregister();
            allowReg.unregister();
            configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, "itest-rank", "?").delete();
        }
    }
}
