package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.service.cm.Configuration;

/**
 * The features install and their bundles go Active: brokkr-core (code only), then brokkr (plus the etc/ cfgs).
 * The operator's etc/io.brokkr.broker.listener-tcp.cfg is placed before boot with port 0, so the brokkr feature's
 * configfile (port 1883) must not overwrite it, and the test never binds 1883.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class FeaturesIT extends BrokkrTestSupport {

    static final List<String> BUNDLES = Arrays.asList(
            "io.brokkr.api", "io.brokkr.broker", "io.brokkr.shell",
            "io.netty.common", "io.netty.buffer", "io.netty.resolver", "io.netty.transport", "io.netty.codec",
            "io.netty.codec-mqtt", "io.netty.handler", "io.netty.transport-native-unix-common",
            "io.netty.transport-classes-epoll");

    static final java.util.regex.Pattern TCP_ROW = java.util.regex.Pattern.compile(
            "tcp\\s*[|│]\\s*tcp\\s*[|│]\\s*127\\.0\\.0\\.1\\s*[|│]\\s*(\\d+)\\s*[|│]\\s*yes");

    @Override
    protected Option[] extraOptions() {
        return new Option[] {
            editConfigurationFilePut("etc/io.brokkr.broker.listener-tcp.cfg", "type", "tcp"),
            editConfigurationFilePut("etc/io.brokkr.broker.listener-tcp.cfg", "host", "127.0.0.1"),
            editConfigurationFilePut("etc/io.brokkr.broker.listener-tcp.cfg", "port", "0"),
        };
    }

    @Test
    public void test1BrokkrCore() throws Exception {
        ensureFeature("brokkr-core");
        for (String bsn : BUNDLES) {
            Bundle b = findBundleByName(bsn);
            assertNotNull("bundle " + bsn + " installed", b);
            await(bsn + " Active", () -> b.getState() == Bundle.ACTIVE);
        }
        // the Linux x86_64 epoll library is a fragment of transport-classes-epoll: resolved and attached, not Active
        if ("amd64".equals(System.getProperty("os.arch")) && "Linux".equals(System.getProperty("os.name"))) {
            Bundle epoll = findBundleByName("io.netty.transport-native-epoll.linux-x86_64");
            assertNotNull("epoll native fragment installed", epoll);
            assertTrue((epoll.adapt(BundleRevision.class).getTypes() & BundleRevision.TYPE_FRAGMENT) != 0);
            assertEquals(Bundle.RESOLVED, epoll.getState());
        }
        // no io.brokkr types in this class: it is loaded before the feature is installed
        assertNotNull(getOsgiService("io.brokkr.api.BrokerService", null, TIMEOUT_MS));
        // the shell commands are registered
        String out = executeCommand("mqtt:stats");
        assertTrue(out, out.contains("Uptime"));
    }

    @Test
    public void test2Brokkr() throws Exception {
        ensureFeature("brokkr");
        File etc = new File(System.getProperty("karaf.etc"));
        // the configfile for the broker PID was delivered; the existing listener file was kept (port 0, not 1883)
        File brokerCfg = new File(etc, "io.brokkr.broker.cfg");
        await(brokerCfg + " delivered by feature brokkr", brokerCfg::isFile);
        await("configuration io.brokkr.broker", () -> {
            try {
                Configuration[] c = configurationAdmin.listConfigurations("(service.pid=io.brokkr.broker)");
                return c != null && c.length == 1;
            } catch (Exception e) {
                return false;
            }
        });
        String listeners = awaitCommand("mqtt:listeners", s -> TCP_ROW.matcher(s).find(), "listener tcp bound");
        java.util.regex.Matcher row = TCP_ROW.matcher(listeners);
        assertTrue(row.find());
        int port = Integer.parseInt(row.group(1));
        assertNotEquals("listener-tcp.cfg of the operator kept (port 0), not replaced by the default", 1883, port);
        assertTrue(java.nio.file.Files.readString(new File(etc, "io.brokkr.broker.listener-tcp.cfg").toPath())
                .matches("(?s).*port\\s*=\\s*0.*"));
        // and a client can connect to it
        closeQuietly(connect("features-it", port));
        for (String bsn : BUNDLES) {
            assertEquals(bsn, Bundle.ACTIVE, findBundleByName(bsn).getState());
        }
    }
}
