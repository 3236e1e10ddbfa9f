package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.Configuration;

/**
 * The example hook bundle (examples/hook) as a user installs it: {@code feature:install brokkr-example-hook} puts
 * its cfg in etc/ and starts an inline interceptor that adds the receive time to JSON payloads and an asynchronous
 * observer listed by {@code mqtt:observers}; editing the cfg changes the interceptor at once.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HookExampleIT extends BrokerTestSupport {

    static final String LISTENER = "itest-hook";
    private int port;

    @Before
    public void listener() throws Exception {
        port = openListener(LISTENER);
    }

    @After
    public void closeListener() throws Exception {
        closeListener(LISTENER);
    }

    @Test
    public void theExampleHookEnrichesJsonAndItsObserverIsListed() throws Exception {
        Configuration initial = configurationAdmin.getConfiguration("io.brokkr.example.hook", null);
        if (initial.getProperties() != null && "at".equals(initial.getProperties().get("field"))) {
            initial.delete(); // left by an earlier attempt: the feature installs the shipped cfg again
        }
        ensureFeature("brokkr-example-hook");
        await("the example's interceptor and observer are registered", () ->
                executeCommand("mqtt:observers", 10_000L, true).contains("example-activity-log"));
        BlockingQueue<String> got = new ArrayBlockingQueue<>(10);
        MqttClient sub = connect("hook-sub", port);
        MqttClient pub = connect("hook-pub", port);
        try {
            sub.subscribe("#", 1, (t, m) -> got.add(t + " " + new String(m.getPayload(), StandardCharsets.UTF_8)));
            pub.publish("sensors/t1", "{\"t\":21}".getBytes(StandardCharsets.UTF_8), 1, false);
            String s = got.poll(10, TimeUnit.SECONDS);
            assertTrue(String.valueOf(s), s != null && s.matches("sensors/t1 \\{\"t\":21,\"receivedAt\":\"20[0-9-]+T[0-9:.]+Z\"}"));
            pub.publish("other/t1", "{\"t\":21}".getBytes(StandardCharsets.UTF_8), 1, false);
            assertEquals("other/t1 {\"t\":21}", got.poll(10, TimeUnit.SECONDS));

            // the cfg edited at runtime: another field name and epoch milliseconds
            Configuration c = configurationAdmin.getConfiguration("io.brokkr.example.hook", null);
            Dictionary<String, Object> props = c.getProperties() == null ? new Hashtable<>() : c.getProperties();
            props.put("topics", "sensors/#");
            props.put("field", "at");
            props.put("time.format", "millis");
            c.update(props);
            await("the new cfg applies", () -> {
                try {
                    got.clear();
                    pub.publish("sensors/t2", "{\"t\":1}".getBytes(StandardCharsets.UTF_8), 1, false);
                    String r = got.poll(5, TimeUnit.SECONDS);
                    return r != null && r.matches("sensors/t2 \\{\"t\":1,\"at\":[0-9]{13}}");
                } catch (Exception e) {
                    return false;
                }
            });
            awaitCommand("mqtt:observers", out -> out.contains("example-activity-log"), "the observer still listed");
        } finally {
            closeQuietly(pub);
            closeQuietly(sub);
            featureService.uninstallFeature("brokkr-example-hook");
        }
        await("the observer is gone with its bundle", () ->
                !executeCommand("mqtt:observers", 10_000L, true).contains("example-activity-log"));
    }
}
