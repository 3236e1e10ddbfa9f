package io.brokkr.itests;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.apache.karaf.features.Feature;
import org.apache.karaf.itests.KarafTestSupport;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.ops4j.pax.exam.CoreOptions;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.options.MavenArtifactUrlReference;
import org.ops4j.pax.exam.karaf.options.KarafDistributionBaseConfigurationOption;
import org.ops4j.pax.exam.karaf.options.KeepRuntimeFolderOption;
import org.osgi.service.cm.Configuration;

/**
 * Boots the Brokkr distribution (karaf-assembly tar.gz) without the brokkr boot feature, on free SSH/RMI ports,
 * with Paho inside the container (the tests run in Karaf and connect to the broker over TCP on 127.0.0.1).
 * MQTT listeners are always opened on ephemeral (port 0) or freshly probed free ports, never on 1883.
 * No io.brokkr types here: the probe (test classes) must load before the Brokkr bundles are installed.
 */
public abstract class BrokkrTestSupport extends KarafTestSupport {

    static final String LISTENER_FACTORY_PID = "io.brokkr.broker.listener";
    static final long TIMEOUT_MS = 20_000;

    /** The distribution's boot features minus brokkr (the tests install brokkr-core or brokkr themselves). */
    static final String BOOT_FEATURES = "instance,package,log,ssh,framework,system,feature,shell,management,service,"
            + "jaas,deployer,diagnostic,wrap,bundle,config,kar,scr";

    /** Options a test class adds to the common ones. */
    protected Option[] extraOptions() {
        return new Option[0];
    }

    /** Boot features: the distribution's, minus brokkr. */
    protected String bootFeatures() {
        return BOOT_FEATURES;
    }

    /** Only named here so that super.config() needs no apache-karaf dependency; replaced in {@link #config()}. */
    @Override
    public MavenArtifactUrlReference getKarafDistribution() {
        return CoreOptions.maven().groupId("org.apache.karaf").artifactId("apache-karaf")
                .version(System.getProperty("karaf.version")).type("tar.gz");
    }

    @Override
    @org.ops4j.pax.exam.Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>();
        for (Option o : super.config()) {
            if (o instanceof KarafDistributionBaseConfigurationOption) {
                continue; // replaced below: stock Karaf -> the Brokkr distribution
            }
            if (o instanceof KeepRuntimeFolderOption && !Boolean.getBoolean("brokkr.itest.keep")) {
                continue; // ~150 MB per test class; -Dbrokkr.itest.keep=true keeps target/exam/<uuid> for debugging
            }
            options.add(o);
        }
        String dist = System.getProperty("brokkr.distribution");
        if (dist == null || !new File(dist).isFile()) {
            throw new IllegalStateException("system property brokkr.distribution (karaf-assembly tar.gz) not a file: "
                    + dist);
        }
        options.add(karafDistributionConfiguration()
                .frameworkUrl(new File(dist).toURI().toString())
                .karafVersion(System.getProperty("karaf.version"))
                .name("Brokkr")
                .unpackDirectory(new File("target/exam"))
                .useDeployFolder(false));
        options.add(editConfigurationFilePut("etc/org.apache.karaf.features.cfg", "featuresBoot", bootFeatures()));
        options.add(mavenBundle().groupId("org.eclipse.paho").artifactId("org.eclipse.paho.client.mqttv3")
                .versionAsInProject());
        for (Option o : extraOptions()) {
            options.add(o);
        }
        return options.toArray(new Option[0]);
    }

    // ------------------------------------------------------------------------------------------------ features

    protected void ensureFeature(String name) throws Exception {
        // on a loaded machine the features service may still be busy (boot features, a refresh after an uninstall)
        // and list no repository for a moment
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        Feature f = featureService.getFeature(name);
        while (f == null && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
            f = featureService.getFeature(name);
        }
        if (f == null) {
            fail("feature " + name + " not found in " + java.util.Arrays.toString(featureService.listRepositories()));
        }
        if (!featureService.isInstalled(f)) {
            featureService.installFeature(name);
        }
        assertTrue("feature " + name + " installed", featureService.isInstalled(featureService.getFeature(name)));
    }

    /**
     * The executable of a tool, searched on the PATH, in /usr/bin and /usr/sbin (Karaf may have been started with a
     * reduced environment); fails saying which Debian package provides it (./test.sh installs them).
     */
    protected static String tool(String name, String debianPackage) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.add("/usr/bin");
        dirs.add("/usr/sbin");
        for (String dir : dirs) {
            File f = new File(dir, name);
            if (!dir.isEmpty() && f.canExecute()) {
                return f.getPath();
            }
        }
        fail(name + " is not installed: install the Debian package " + debianPackage + " (./test.sh does)");
        return null;
    }

    protected static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    // ------------------------------------------------------------------------------------------------ MQTT

    protected static MqttClient client(String clientId, int port) throws MqttException {
        return new MqttClient("tcp://127.0.0.1:" + port, clientId, new MemoryPersistence());
    }

    protected static MqttClient connect(String clientId, int port) throws MqttException {
        MqttClient c = client(clientId, port);
        c.connect(options());
        return c;
    }

    protected static MqttConnectOptions options() {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setConnectionTimeout(5);
        o.setKeepAliveInterval(30);
        o.setAutomaticReconnect(false);
        return o;
    }

    protected static void closeQuietly(MqttClient c) {
        if (c == null) {
            return;
        }
        try {
            if (c.isConnected()) {
                c.disconnect(1000);
            }
        } catch (Exception ignored) {
            // best effort
        }
        try {
            c.close(true);
        } catch (Exception ignored) {
            // best effort
        }
    }

    /** True if an MQTT connection to 127.0.0.1:port is refused (nothing listening). */
    protected static boolean refused(int port) {
        MqttClient c = null;
        try {
            c = connect("probe-" + System.nanoTime(), port);
            return false;
        } catch (MqttException e) {
            return true;
        } finally {
            closeQuietly(c);
        }
    }

    // ------------------------------------------------------------------------------------------------ waiting

    protected static void await(String what, BooleanSupplier condition) {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                fail("timed out after " + TIMEOUT_MS + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for: " + what);
            }
        }
    }

    /** Runs a shell command until its output satisfies {@code check}; returns that output. */
    protected String awaitCommand(String command, java.util.function.Predicate<String> check, String what) {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (true) {
            String out = executeCommand(command, 10_000L, true);
            if (check.test(out)) {
                return out;
            }
            if (System.currentTimeMillis() > deadline) {
                fail("timed out waiting for " + what + "; last output of '" + command + "':\n" + out);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted waiting for " + what);
            }
        }
    }
}
