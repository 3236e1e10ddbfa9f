package io.brokkr.broker.it;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Certificates for TLS tests, made with the {@code openssl} command line tool in a directory of the test (nothing
 * is checked in): a CA, a server certificate for localhost and 127.0.0.1, a client certificate, an expired client
 * certificate and a client certificate of another CA; {@link #issue} makes more. Keys are PKCS#8 PEM files as
 * {@code openssl req -newkey} and {@code openssl genpkey} write them. Public so that tests of other packages (wss,
 * X.509 authentication) can use it.
 */
public final class TestCerts {

    /** A certificate and its key, PEM files. */
    public record Pair(Path cert, Path key) {
    }

    public final Path dir;
    /** The CA the server and the good client certificates are signed by: the {@code ca.file} of the listeners. */
    public final Pair ca;
    /** Another CA, which the listeners do not trust. */
    public final Pair otherCa;
    /** CN=localhost, SAN DNS:localhost and IP:127.0.0.1, RSA 2048 ({@code openssl req -newkey}). */
    public final Pair server;
    /** CN=client1, SAN DNS:device-1.example.com and e-mail client1@example.com, EC P-256 ({@code genpkey}). */
    public final Pair client;
    /** CN=expired, expired yesterday. */
    public final Pair expired;
    /** CN=stranger, signed by {@link #otherCa}. */
    public final Pair stranger;

    public TestCerts(Path dir) throws Exception {
        this.dir = dir;
        ca = ca("ca", "Brokkr Test CA");
        otherCa = ca("other-ca", "Other Test CA");
        server = issue("server", "localhost", "DNS:localhost,IP:127.0.0.1", 30, ca, "rsa");
        client = issue("client", "client1", "DNS:device-1.example.com,email:client1@example.com", 30, ca, "ec");
        expired = issue("expired", "expired", null, -1, ca, "ec");
        stranger = issue("stranger", "stranger", null, 30, otherCa, "ec");
    }

    private Pair ca(String name, String cn) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path cert = dir.resolve(name + ".crt");
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        openssl("req", "-x509", "-new", "-key", key.toString(), "-subj", "/CN=" + cn, "-days", "3650",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", cert.toString());
        return new Pair(cert, key);
    }

    /**
     * A certificate signed by {@code issuer}: subject CN {@code cn}, subject alternative names {@code san} (OpenSSL
     * syntax, e.g. "DNS:localhost,IP:127.0.0.1", or null), valid for {@code days} from now (negative: expired),
     * key "rsa" ({@code openssl req -newkey rsa:2048}) or "ec" ({@code openssl genpkey}, P-256). Files
     * {@code <name>.crt} and {@code <name>.key}, overwritten if there.
     */
    public Pair issue(String name, String cn, String san, int days, Pair issuer, String keyType) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Path cert = dir.resolve(name + ".crt");
        if (keyType.equals("rsa")) {
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-subj", "/CN=" + cn,
                    "-out", csr.toString());
        } else {
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
            openssl("req", "-new", "-key", key.toString(), "-subj", "/CN=" + cn, "-out", csr.toString());
        }
        Path ext = dir.resolve(name + ".ext");
        Files.writeString(ext, "basicConstraints=CA:FALSE\n" + (san == null ? "" : "subjectAltName=" + san + "\n"));
        openssl("x509", "-req", "-in", csr.toString(), "-CA", issuer.cert().toString(), "-CAkey",
                issuer.key().toString(), "-CAcreateserial", "-days", Integer.toString(days), "-extfile",
                ext.toString(), "-out", cert.toString());
        return new Pair(cert, key);
    }

    /** A PKCS#12 keystore of a certificate and its key (with the CA's certificate in the chain). */
    public Path pkcs12(Pair pair, String password) throws Exception {
        Path p12 = dir.resolve(pair.cert().getFileName() + ".p12");
        openssl("pkcs12", "-export", "-in", pair.cert().toString(), "-inkey", pair.key().toString(), "-certfile",
                ca.cert().toString(), "-name", "brokkr", "-passout", "pass:" + password, "-out", p12.toString());
        return p12;
    }

    /** A PKCS#12 truststore holding the CA certificate (written by the JDK's keytool). */
    public Path truststore(String password) throws Exception {
        Path ts = dir.resolve("truststore.p12");
        Files.deleteIfExists(ts);
        run(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-importcert",
                "-noprompt", "-alias", "ca", "-file", ca.cert().toString(), "-keystore", ts.toString(),
                "-storetype", "PKCS12", "-storepass", password));
        return ts;
    }

    /**
     * A client-side SSLContext (for Paho Java) that trusts {@link #ca} and presents {@code clientCert} (null: no
     * certificate).
     */
    public SSLContext clientContext(Pair clientCert) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", certificate(ca.cert()));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (clientCert != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(pkcs12(clientCert, "changeit"))) {
                keys.load(in, "changeit".toCharArray());
            }
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, "changeit".toCharArray());
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    public static X509Certificate certificate(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    /** Runs {@code openssl} with the arguments in {@link #dir}; fails with its output if it exits with an error. */
    public String openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private String run(List<String> cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(cmd.get(0) + " is needed by the TLS tests and cannot be run: " + e, e);
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed:\n" + out);
        }
        return out;
    }
}
