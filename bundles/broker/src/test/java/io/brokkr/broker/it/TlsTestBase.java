package io.brokkr.broker.it;

import io.brokkr.api.ListenerInfo;
import io.brokkr.broker.config.ListenerConfig;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The broker of {@link BrokerTestBase} plus certificates ({@link TestCerts}) in a temporary directory, TLS listeners
 * opened by the test, and the command line clients: {@code mosquitto_pub}/{@code mosquitto_sub} and
 * {@code openssl s_client}.
 */
abstract class TlsTestBase extends BrokerTestBase {

    TestCerts certs;
    private final List<String> listenerNames = new ArrayList<>();

    @BeforeAll
    void makeCerts() throws Exception {
        certs = new TestCerts(Files.createTempDirectory("brokkr-tls"));
    }

    @AfterAll
    void removeCerts() throws Exception {
        for (String n : listenerNames) {
            broker.closeListener(n);
        }
        try (Stream<Path> files = Files.walk(certs.dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** cert.file, key.file and ca.file of the test CA's server certificate, and {@code more}: "k", "v", ... */
    Map<String, String> pemOptions(String... more) {
        Map<String, String> o = new HashMap<>();
        o.put("cert.file", certs.server.cert().toString());
        o.put("key.file", certs.server.key().toString());
        o.put("ca.file", certs.ca.cert().toString());
        for (int i = 0; i < more.length; i += 2) {
            if (more[i + 1] == null) {
                o.remove(more[i]);
            } else {
                o.put(more[i], more[i + 1]);
            }
        }
        return o;
    }

    ListenerConfig tlsConfig(String name, int port, Map<String, String> options) {
        Map<String, String> o = new HashMap<>(options);
        o.put("type", "tls");
        return new ListenerConfig(name, "tls", "127.0.0.1", port, null, o);
    }

    /** Opens a TLS listener on an ephemeral port of 127.0.0.1 and returns its port (asserting that it is bound). */
    int tlsListener(String name, Map<String, String> options) {
        broker.openListener(tlsConfig(name, 0, options));
        listenerNames.add(name);
        ListenerInfo info = info(name);
        if (!info.bound()) {
            throw new AssertionError("listener " + name + " not bound: " + info.error());
        }
        return info.port();
    }

    ListenerInfo info(String name) {
        return broker.listeners().stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("listener " + name + " not listed"));
    }

    /** The exit code and output (stdout and stderr) of a command line client. */
    record Result(int exit, String output) {
    }

    static Result run(List<String> cmd) throws Exception {
        Process p = start(cmd);
        return finish(p, cmd);
    }

    static Process start(List<String> cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            throw new AssertionError(cmd.get(0) + " is needed by this test and cannot be run (Debian: "
                    + "mosquitto-clients, openssl): " + e, e);
        }
        p.getOutputStream().close();
        return p;
    }

    static Result finish(Process p, List<String> cmd) throws Exception {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not end within 30 s");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /**
     * {@code mosquitto_pub} or {@code mosquitto_sub} against 127.0.0.1:{@code port} with TLS: {@code --cafile} of
     * the test CA, the client certificate {@code client} (null: none), then {@code args}.
     */
    List<String> mosquitto(String tool, int port, TestCerts.Pair client, String... args) {
        List<String> cmd = new ArrayList<>(List.of(tool, "-h", "127.0.0.1", "-p", Integer.toString(port),
                "--cafile", certs.ca.cert().toString()));
        if (client != null) {
            cmd.addAll(List.of("--cert", client.cert().toString(), "--key", client.key().toString()));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** {@code openssl s_client} to 127.0.0.1:{@code port} verifying with the test CA, then {@code args}. */
    Result sClient(int port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-CAfile", certs.ca.cert().toString(), "-verify_return_error", "-showcerts"));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private static final Pattern CERT = Pattern.compile(
            "-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", Pattern.DOTALL);
    private static final Pattern PROTOCOL = Pattern.compile("New, (TLSv1\\.[0-3]), Cipher is");

    /** The server certificate of an s_client output, or null if the handshake did not get that far. */
    static X509Certificate servedCertificate(Result r) throws Exception {
        Matcher m = CERT.matcher(r.output());
        if (!m.find()) {
            return null;
        }
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(m.group().getBytes(StandardCharsets.US_ASCII)));
    }

    /** The protocol version s_client negotiated, or null. */
    static String protocol(Result r) {
        Matcher m = PROTOCOL.matcher(r.output());
        return m.find() ? m.group(1) : null;
    }
}
