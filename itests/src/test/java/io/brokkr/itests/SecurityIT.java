package io.brokkr.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.service.cm.Configuration;

/**
 * The security providers as an operator uses them in the distribution: each feature installed into the running
 * broker, its cfg changed, the feature uninstalled, and MQTT 3.1.1 clients (Paho) allowed and refused accordingly;
 * and the listener types (tls, ws, wss) opened from cfg files.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SecurityIT extends BrokerTestSupport {

    static final String LISTENER = "itest-sec";
    private int port;

    @Before
    public void listener() throws Exception {
        port = openListener(LISTENER);
    }

    @After
    public void restore() throws Exception {
        brokerKeys("allow.anonymous", "true");
        closeListener(LISTENER);
    }

    /** Sets keys of etc/io.brokkr.broker.cfg (PID io.brokkr.broker) as an edit of the file does. */
    private void brokerKeys(String... kv) throws Exception {
        Configuration c = configurationAdmin.getConfiguration("io.brokkr.broker", null);
        Dictionary<String, Object> p = c.getProperties() == null ? new Hashtable<>() : c.getProperties();
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        c.update(p);
    }

    private void cfg(String pid, String... kv) throws Exception {
        Configuration c = configurationAdmin.getConfiguration(pid, null);
        Dictionary<String, Object> p = c.getProperties() == null ? new Hashtable<>() : c.getProperties();
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        c.update(p);
    }

    /**
     * Creates or replaces the listener factory configuration {@code name} of {@code type} on 127.0.0.1 and a free
     * port, with more keys, as a cfg file {@code etc/io.brokkr.broker.listener-NAME.cfg} does.
     */
    private Configuration listenerCfg(String name, String type, String... kv) throws Exception {
        Configuration c = configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, name, "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("name", name);
        props.put("type", type);
        props.put("host", "127.0.0.1");
        props.put("port", "0");
        for (int i = 0; i < kv.length; i += 2) {
            props.put(kv[i], kv[i + 1]);
        }
        c.update(props);
        return c;
    }

    /** MQTT 3.1.1 CONNECT to this test's listener: 0 if accepted, else the CONNACK return code. */
    private int connect(String user, String password) {
        return connect("tcp://127.0.0.1:" + port, null, user, password);
    }

    /**
     * MQTT 3.1.1 CONNECT to {@code uri}, over TLS with {@code ssl} (its client certificate, if it has one) unless
     * null: 0 if accepted, else the CONNACK return code.
     */
    private int connect(String uri, SSLContext ssl, String user, String password) {
        MqttClient c = null;
        try {
            c = new MqttClient(uri, "sec-" + System.nanoTime(), new MemoryPersistence());
            MqttConnectOptions o = options();
            if (ssl != null) {
                o.setSocketFactory(ssl.getSocketFactory());
            }
            if (user != null) {
                o.setUserName(user);
                o.setPassword(password.toCharArray());
            }
            c.connect(o);
            return 0;
        } catch (MqttException e) {
            return e.getReasonCode();
        } finally {
            closeQuietly(c);
        }
    }

    /** The SUBACK code (granted QoS, or 128) of one subscription of a client that connects as user. */
    private int subscribe(String user, String password, String filter) throws Exception {
        MqttClient c = client("sec-" + System.nanoTime(), port);
        try {
            MqttConnectOptions o = options();
            if (user != null) {
                o.setUserName(user);
                o.setPassword(password.toCharArray());
            }
            c.connect(o);
            try {
                IMqttToken t = c.subscribeWithResponse(filter, 1);
                return t.getGrantedQos()[0];
            } catch (MqttException e) {
                return 128; // Paho 1.2 throws on a refused subscription
            }
        } finally {
            closeQuietly(c);
        }
    }

    private void awaitConnect(String what, String user, String password, int expected) {
        await(what + " (expected " + expected + ")", () -> connect(user, password) == expected);
    }

    @Test
    public void passwordFileAndAclFile() throws Exception {
        File etc = new File(System.getProperty("karaf.etc"));
        Files.writeString(new File(etc, "brokkr.acl").toPath(), "user alice\ntopic readwrite a/#\n");
        brokerKeys("allow.anonymous", "false");
        awaitConnect("anonymous refused", null, null, 5);
        ensureFeature("brokkr-auth-passwd");
        String out = executeCommand("mqtt:passwd-add alice s3cret", 10_000L, true);
        assertTrue(out, !out.toLowerCase().contains("error"));
        awaitConnect("alice in", "alice", "s3cret", 0);
        assertEquals(4, connect("alice", "wrong"));

        ensureFeature("brokkr-auth-acl");
        await("the ACL file refuses b/#", () -> {
            try {
                return subscribe("alice", "s3cret", "b/#") == 128;
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals(1, subscribe("alice", "s3cret", "a/#"));
        cfg("io.brokkr.auth.acl", "unmatched", "next"); // what the file does not mention: the next decides
        await("unmatched = next lets b/# through", () -> {
            try {
                return subscribe("alice", "s3cret", "b/#") == 1;
            } catch (Exception e) {
                return false;
            }
        });
        featureService.uninstallFeature("brokkr-auth-acl");
        featureService.uninstallFeature("brokkr-auth-passwd");
        awaitConnect("no authenticator: alice refused", "alice", "s3cret", 4);
    }

    @Test
    public void jaasRealm() throws Exception {
        brokerKeys("allow.anonymous", "false");
        awaitConnect("anonymous refused", null, null, 5);
        ensureFeature("brokkr-auth-jaas");
        awaitConnect("karaf in (etc/users.properties)", "karaf", "karaf", 0);
        assertEquals(4, connect("karaf", "wrong"));
        // the realm's admin role: $SYS may be read (sys.topics.role = admin)
        assertEquals(1, subscribe("karaf", "karaf", "$SYS/broker/uptime"));
        cfg("io.brokkr.auth.jaas", "realm", "nosuchrealm");
        awaitConnect("a missing realm: server unavailable", "karaf", "karaf", 3);
        featureService.uninstallFeature("brokkr-auth-jaas");
        awaitConnect("no authenticator: refused", "karaf", "karaf", 4);
    }

    @Test
    public void httpService() throws Exception {
        Path dir = Files.createTempDirectory("brokkr-http-auth");
        Files.writeString(dir.resolve("yes"), "ok");
        int httpPort = freePort();
        Process server = new ProcessBuilder(tool("python3", "python3"), "-m", "http.server", String.valueOf(httpPort),
                "--bind", "127.0.0.1", "--directory", dir.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("server.log").toFile()).start();
        try {
            brokerKeys("allow.anonymous", "false");
            awaitConnect("anonymous refused", null, null, 5);
            cfg("io.brokkr.auth.http", "url", "http://127.0.0.1:" + httpPort + "/yes", "method", "GET",
                    "retries", "5", "retry.delay.ms", "200");
            ensureFeature("brokkr-auth-http-core");
            awaitConnect("the service answers 200 for /yes", "bob", "pw", 0);
            cfg("io.brokkr.auth.http", "url", "http://127.0.0.1:" + httpPort + "/no");
            awaitConnect("the service answers 404 for /no", "bob", "pw", 4);
            assertTrue(Files.readString(dir.resolve("server.log")).contains("GET /no?username=bob&password=pw"));
            featureService.uninstallFeature("brokkr-auth-http-core");
            configurationAdmin.getConfiguration("io.brokkr.auth.http", null).delete();
        } finally {
            server.destroy();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    public void rules() throws Exception {
        ensureFeature("brokkr-auth-rules");
        await("mqtt:rules available", () -> !executeCommand("mqtt:rules", 10_000L, true).contains("not found"));
        executeCommand("mqtt:rule-add 'DEFINE RULE NoSecrets WITH PRIORITY 1 FOR Subscribe TO TOPIC "
                + "\"secret/#\" THEN DENY'", 10_000L, true);
        String rules = executeCommand("mqtt:rules", 10_000L, true);
        assertTrue(rules, rules.contains("NoSecrets"));
        // the feature's cfg file reaches the authorizer through FileInstall a moment after the bundle started
        await("the rule in force", () -> {
            try {
                return subscribe(null, null, "secret/x") == 128;
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals(1, subscribe(null, null, "public/x"));
        executeCommand("mqtt:rule-add 'DEFINE RULE Broken FOR Subscribe TO TOPIC THEN DENY'", 10_000L, true);
        rules = executeCommand("mqtt:rules", 10_000L, true);
        assertTrue("a rule that does not parse is refused: " + rules, !rules.contains("Broken"));
        cfg("io.brokkr.auth.rules", "no.match", "deny");
        await("no.match = deny refuses what no rule decides", () -> {
            try {
                return subscribe(null, null, "public/x") == 128;
            } catch (Exception e) {
                return false;
            }
        });
        executeCommand("mqtt:rule-remove NoSecrets", 10_000L, true);
        featureService.uninstallFeature("brokkr-auth-rules");
        await("no authorizer: allowed again", () -> {
            try {
                return subscribe(null, null, "secret/x") == 1;
            } catch (Exception e) {
                return false;
            }
        });
    }

    @Test
    public void tlsWebSocketAndWssListeners() throws Exception {
        Path dir = Files.createTempDirectory("brokkr-tls");
        String openssl = tool("openssl", "openssl");
        Path key = dir.resolve("key.pem");
        Path cert = dir.resolve("cert.pem");
        Process p = new ProcessBuilder(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1").redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());

        List<String> names = new ArrayList<>();
        for (String type : List.of("tls", "ws", "wss")) {
            listenerCfg("itest-" + type, type, "cert.file", cert.toString(), "key.file", key.toString());
            names.add("itest-" + type);
        }
        try {
            SSLContext ssl = trusting(cert);
            int tls = awaitBound("itest-tls", 0);
            int ws = awaitBound("itest-ws", 0);
            int wss = awaitBound("itest-wss", 0);
            for (String uri : List.of("ssl://127.0.0.1:" + tls, "ws://127.0.0.1:" + ws + "/mqtt",
                    "wss://127.0.0.1:" + wss + "/mqtt")) {
                MqttClient c = new MqttClient(uri, "sec-" + System.nanoTime(), new MemoryPersistence());
                MqttConnectOptions o = options();
                if (!uri.startsWith("ws:")) {
                    o.setSocketFactory(ssl.getSocketFactory());
                }
                try {
                    c.connect(o);
                    c.subscribe("t/" + uri.substring(0, 3), 1);
                    c.publish("t/" + uri.substring(0, 3), "x".getBytes(StandardCharsets.UTF_8), 1, false);
                } finally {
                    closeQuietly(c);
                }
            }
            String listeners = executeCommand("mqtt:listeners", 10_000L, true);
            assertTrue(listeners, listeners.contains("wss"));

            // a cfg file that does not parse: listed unbound with the reason, bound once fixed
            listenerCfg("itest-bad", "tcp", "port", "abc");
            names.add("itest-bad");
            awaitCommand("mqtt:listeners", out -> out.contains("itest-bad") && out.contains("'abc' is not a number"),
                    "itest-bad listed with the reason");
            listenerCfg("itest-bad", "tcp");
            awaitBound("itest-bad", 0);
        } finally {
            for (String n : names) {
                configurationAdmin.getFactoryConfiguration(LISTENER_FACTORY_PID, n, "?").delete();
            }
        }
    }

    /**
     * The X.509 provider behind a mutual-TLS listener (client.auth = need, allow.anonymous = false): a client
     * certificate of the listener's CA refused before the feature is installed, allowed by the certificate alone
     * once it is, {@code username.must.match} applied from a cfg change, refused again after uninstalling.
     */
    @Test
    public void x509ClientCertificates() throws Exception {
        Path dir = Files.createTempDirectory("brokkr-x509");
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "2", "-subj", "/CN=itest CA");
        signed(dir, "server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        signed(dir, "client", "/CN=device-1/OU=sensors", null);
        openssl(dir, "pkcs12", "-export", "-inkey", "client.key", "-in", "client.pem", "-out", "client.p12",
                "-passout", "pass:secret");
        Configuration c = listenerCfg("itest-mtls", "tls", "cert.file", dir.resolve("server.pem").toString(),
                "key.file", dir.resolve("server.key").toString(), "ca.file", dir.resolve("ca.pem").toString(),
                "client.auth", "need");
        try {
            int tls = awaitBound("itest-mtls", 0);
            SSLContext ssl = withClientCertificate(dir.resolve("ca.pem"), dir.resolve("client.p12"));
            brokerKeys("allow.anonymous", "false");
            awaitTls("no authenticator: the certificate alone is not enough", tls, ssl, null, 5);
            ensureFeature("brokkr-auth-x509");
            awaitTls("the certificate authenticates", tls, ssl, null, 0);
            cfg("io.brokkr.auth.x509", "username.must.match", "true");
            awaitTls("username.must.match: another name refused", tls, ssl, "device-2", 4);
            assertEquals(0, connect("ssl://127.0.0.1:" + tls, ssl, "device-1", "unused"));
            featureService.uninstallFeature("brokkr-auth-x509");
            awaitTls("uninstalled: refused again", tls, ssl, null, 5);
        } finally {
            cfg("io.brokkr.auth.x509", "username.must.match", "false");
            c.delete();
        }
    }

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool("openssl", "openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("openssl.log").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(String.join(" ", cmd) + ": " + Files.readString(dir.resolve("openssl.log")), 0, p.exitValue());
    }

    /** NAME.key and NAME.pem, signed by ca.key / ca.pem in dir. */
    private static void signed(Path dir, String name, String subject, String san) throws Exception {
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", subject);
        List<String> sign = new ArrayList<>(List.of("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem", "-days", "2"));
        if (san != null) {
            Files.writeString(dir.resolve(name + ".ext"), san + "\n");
            sign.addAll(List.of("-extfile", name + ".ext"));
        }
        openssl(dir, sign.toArray(String[]::new));
    }

    private static SSLContext withClientCertificate(Path ca, Path p12) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(p12.toFile())) {
            ks.load(in, "secret".toCharArray());
        }
        javax.net.ssl.KeyManagerFactory kmf =
                javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "secret".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), trustManagers(ca), null);
        return ctx;
    }

    private void awaitTls(String what, int tlsPort, SSLContext ssl, String user, int expected) {
        await(what + " (expected " + expected + ")",
                () -> connect("ssl://127.0.0.1:" + tlsPort, ssl, user, "unused") == expected);
    }

    private static SSLContext trusting(Path cert) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, trustManagers(cert), null);
        return ctx;
    }

    private static javax.net.ssl.TrustManager[] trustManagers(Path cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (InputStream in = new FileInputStream(cert.toFile())) {
            ks.setCertificateEntry("server", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return tmf.getTrustManagers();
    }
}
