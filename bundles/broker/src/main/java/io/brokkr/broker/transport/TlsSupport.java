package io.brokkr.broker.transport;

import io.brokkr.broker.config.ListenerConfig;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS side of a listener ({@code type = tls}; {@code wss} uses the same): its {@link SslContext} built from the
 * listener's cfg keys, handed out as one {@link SslHandler} per new connection ({@link #newHandler}), and rebuilt
 * when one of its files changes on disk.
 *
 * <p>Keys (all optional but the server's certificate and key):
 * <ul>
 * <li>{@code cert.file} (PEM certificate chain, server certificate first), {@code key.file} (PEM PKCS#8 private key,
 * encrypted with {@code key.password} or not; a plain PKCS#1 RSA key is accepted too), or instead
 * {@code keystore.file}, {@code keystore.password}, {@code keystore.type} (PKCS12 by default; the first key entry
 * is used, {@code key.password} if its password differs from the keystore's);</li>
 * <li>{@code ca.file} (PEM certificates the client certificates must chain to) or {@code truststore.file},
 * {@code truststore.password}, {@code truststore.type} (PKCS12);</li>
 * <li>{@code client.auth} = none | want | need; {@code tls.versions} (TLSv1.2,TLSv1.3); {@code cipher.suites} (the
 * JDK's default suites); {@code identity.from.certificate} = none | cn | san; {@code tls.provider} = jdk | openssl
 * ({@link #parseProvider}).</li>
 * </ul>
 *
 * <p>Reload: the files' modification time, size and file key (inode) are compared with those the current context
 * was built from when a connection arrives, at most once per {@link #CHECK_INTERVAL_MILLIS}, never per packet. A
 * change builds a new context that the next handshakes use; connections already open keep their session. A change
 * that does not load (a half-written file, a key that does not match the certificate) keeps the previous context
 * and is logged once: the same files are not tried again until they change again.
 */
public final class TlsSupport {

    private static final Logger LOG = LoggerFactory.getLogger(TlsSupport.class);

    /** How often, at most, the files are checked for changes (on a new connection). */
    public static final long CHECK_INTERVAL_MILLIS = 1_000;

    /** The TLS versions a listener may use, and the default. */
    public static final List<String> VERSIONS = List.of("TLSv1.2", "TLSv1.3");

    private static final String PBES2_OID = "1.2.840.113549.1.5.13";
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

    /** How a client certificate names the connection's user ({@code identity.from.certificate}). */
    public enum Identity { NONE, CN, SAN }

    private final String listener;
    private final Settings settings;
    private volatile SslContext context;
    /** The stamps of the files {@link #context} was built from. */
    private volatile List<Stamp> stamps;
    /** The stamps of files that failed to load (not tried again until they change); only under {@link #checking}. */
    private List<Stamp> failed;
    private volatile long nextCheck;
    private final AtomicBoolean checking = new AtomicBoolean();

    private TlsSupport(ListenerConfig config) {
        this.listener = config.name();
        this.settings = Settings.parse(config);
        List<Stamp> s = stamp(settings.files());
        this.context = build(settings);
        this.stamps = s;
        this.nextCheck = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MILLIS);
    }

    /**
     * The TLS support of a listener from its cfg keys: reads the files and builds the context at once, so that a
     * wrong cfg (missing or unreadable file, key not matching the certificate, unknown TLS version or cipher suite)
     * is reported before the listener binds.
     *
     * @throws IllegalArgumentException with the reason (naming the key and file) if the context cannot be built
     */
    public static TlsSupport open(ListenerConfig config) {
        return new TlsSupport(config);
    }

    /** Whether a listener of this type speaks TLS ("tls", and "wss" once WebSocket listeners exist). */
    public static boolean usesTls(ListenerConfig config) {
        return "tls".equals(config.type()) || "wss".equals(config.type());
    }

    /**
     * A new {@link SslHandler} for a connection accepted on the listener (the first handler of its pipeline, named
     * "tls"), from the current context; first reloads the context if its files changed (checked at most once per
     * {@link #CHECK_INTERVAL_MILLIS}).
     */
    public SslHandler newHandler(Channel channel) {
        long now = System.nanoTime();
        if (now - nextCheck >= 0 && checking.compareAndSet(false, true)) {
            try {
                nextCheck = now + TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MILLIS);
                reloadIfChanged();
            } finally {
                checking.set(false);
            }
        }
        SslHandler h = context.newHandler(channel.alloc());
        h.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                // a client that does not trust us, a certificate refused, no common version: one line, no trace
                LOG.info("Listener {}: TLS handshake with {} failed: {}", listener, channel.remoteAddress(),
                        f.cause() == null ? "closed" : f.cause().getMessage());
            }
        });
        return h;
    }

    /** The client authentication of this listener. */
    public ClientAuth clientAuth() {
        return settings.clientAuth;
    }

    private void reloadIfChanged() {
        List<Stamp> now = stamp(settings.files());
        if (now.equals(stamps) || now.equals(failed)) {
            return;
        }
        try {
            context = build(settings);
            stamps = now;
            failed = null;
            LOG.info("Listener {}: TLS files changed, new connections use them ({})", listener, describe(now));
        } catch (IllegalArgumentException e) {
            failed = now;
            LOG.error("Listener {}: TLS files changed but cannot be used, new connections keep the previous "
                    + "certificate: {}", listener, e.getMessage());
        }
    }

    private static String describe(List<Stamp> stamps) {
        List<String> out = new ArrayList<>();
        for (Stamp s : stamps) {
            out.add(s.path().toString());
        }
        return String.join(", ", out);
    }

    // ------------------------------------------------------------------------------------------ identity

    /** The {@code identity.from.certificate} of a listener; NONE when the listener has no TLS. */
    public static Identity identityMode(ListenerConfig config) {
        if (!usesTls(config)) {
            return Identity.NONE;
        }
        return parseIdentity(config.option("identity.from.certificate", "none"));
    }

    private static Identity parseIdentity(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "none", "false" -> Identity.NONE;
            case "cn" -> Identity.CN;
            case "san" -> Identity.SAN;
            default -> throw new IllegalArgumentException("identity.from.certificate: '" + v
                    + "' is not one of none, cn, san");
        };
    }

    /**
     * The identity the client's verified certificate gives (its subject's CN, or its first DNS or e-mail subject
     * alternative name), or null when the connection has no TLS session, the client presented no certificate, or
     * the certificate has no such name.
     */
    public static String identity(Channel channel, Identity mode) {
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl == null || mode == Identity.NONE) {
            return null;
        }
        SSLSession session = ssl.engine().getSession();
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
            return null;
        }
        return mode == Identity.CN ? commonName(cert) : firstSan(cert);
    }

    static String commonName(X509Certificate cert) {
        try {
            LdapName dn = new LdapName(cert.getSubjectX500Principal().getName());
            // RDNs are listed from the last one (RFC 2253 order reversed): the most specific CN is the last
            List<Rdn> rdns = dn.getRdns();
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if ("CN".equalsIgnoreCase(rdns.get(i).getType())) {
                    return rdns.get(i).getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }

    static String firstSan(X509Certificate cert) {
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans == null) {
                return null;
            }
            for (List<?> san : sans) {
                int type = (Integer) san.get(0);
                if (type == 1 || type == 2) { // rfc822Name, dNSName
                    return san.get(1).toString();
                }
            }
        } catch (CertificateException e) {
            return null;
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ settings

    /** The parsed TLS keys of a listener. */
    private record Settings(Path certFile, Path keyFile, char[] keyPassword, Path keystoreFile,
                            char[] keystorePassword, String keystoreType, Path caFile, Path truststoreFile,
                            char[] truststorePassword, String truststoreType, ClientAuth clientAuth,
                            List<String> versions, List<String> cipherSuites, SslProvider provider) {

        static Settings parse(ListenerConfig c) {
            Path cert = path(c, "cert.file");
            Path key = path(c, "key.file");
            Path keystore = path(c, "keystore.file");
            if (keystore != null && (cert != null || key != null)) {
                throw new IllegalArgumentException("set either cert.file and key.file, or keystore.file, not both");
            }
            if (keystore == null && (cert == null || key == null)) {
                throw new IllegalArgumentException(cert == null && key == null
                        ? "a TLS listener needs cert.file and key.file (PEM), or keystore.file"
                        : (cert == null ? "cert.file" : "key.file") + " is missing");
            }
            Path ca = path(c, "ca.file");
            Path truststore = path(c, "truststore.file");
            if (ca != null && truststore != null) {
                throw new IllegalArgumentException("set either ca.file or truststore.file, not both");
            }
            String auth = c.option("client.auth", "none").toLowerCase(Locale.ROOT);
            ClientAuth clientAuth = switch (auth) {
                case "none" -> ClientAuth.NONE;
                case "want" -> ClientAuth.OPTIONAL;
                case "need" -> ClientAuth.REQUIRE;
                default -> throw new IllegalArgumentException("client.auth: '" + auth + "' is not one of none, "
                        + "want, need");
            };
            if (clientAuth != ClientAuth.NONE && ca == null && truststore == null) {
                throw new IllegalArgumentException("client.auth = " + auth
                        + " needs ca.file or truststore.file (the CAs client certificates are verified with)");
            }
            Identity identity = parseIdentity(c.option("identity.from.certificate", "none"));
            if (identity != Identity.NONE && clientAuth == ClientAuth.NONE) {
                throw new IllegalArgumentException("identity.from.certificate = "
                        + identity.name().toLowerCase(Locale.ROOT) + " needs client.auth = want or need");
            }
            return new Settings(cert, key, chars(c.option("key.password", null)), keystore,
                    chars(c.option("keystore.password", null)), c.option("keystore.type", "PKCS12"), ca,
                    truststore, chars(c.option("truststore.password", null)),
                    c.option("truststore.type", "PKCS12"), clientAuth, parseVersions(c), parseCipherSuites(c),
                    parseProvider(c));
        }

        /** The files the context is built from, for the reload check. */
        List<Path> files() {
            List<Path> out = new ArrayList<>(3);
            for (Path p : new Path[] {certFile, keyFile, keystoreFile, caFile, truststoreFile}) {
                if (p != null) {
                    out.add(p);
                }
            }
            return out;
        }
    }

    private static Path path(ListenerConfig c, String key) {
        String v = c.option(key, null);
        return v == null ? null : Path.of(v);
    }

    private static char[] chars(String s) {
        return s == null ? null : s.toCharArray();
    }

    private static List<String> parseVersions(ListenerConfig c) {
        String v = c.option("tls.versions", null);
        if (v == null) {
            return VERSIONS;
        }
        Set<String> out = new LinkedHashSet<>();
        for (String s : v.split("[,\\s]+")) {
            if (s.isEmpty()) {
                continue;
            }
            String match = null;
            for (String known : VERSIONS) {
                if (known.equalsIgnoreCase(s)) {
                    match = known;
                }
            }
            if (match == null) {
                throw new IllegalArgumentException("tls.versions: '" + s + "' is not supported (use TLSv1.2, "
                        + "TLSv1.3 or both)");
            }
            out.add(match);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("tls.versions: no version given (use TLSv1.2, TLSv1.3 or both)");
        }
        return List.copyOf(out);
    }

    /**
     * {@code tls.provider} = jdk (the default) | openssl: the JDK's TLS, or OpenSSL (BoringSSL) through Netty's
     * netty-tcnative, which does a handshake with a fraction of the JDK's CPU time (see the README's TLS benchmark).
     * netty-tcnative is not part of the broker: openssl needs its jar for this platform on the classpath
     * ({@code netty-tcnative-boringssl-static}), and is refused with the reason when it is not there.
     */
    private static SslProvider parseProvider(ListenerConfig c) {
        String v = c.option("tls.provider", "jdk").toLowerCase(Locale.ROOT);
        return switch (v) {
            case "jdk" -> SslProvider.JDK;
            case "openssl" -> {
                if (!io.netty.handler.ssl.OpenSsl.isAvailable()) {
                    Throwable why = io.netty.handler.ssl.OpenSsl.unavailabilityCause();
                    throw new IllegalArgumentException("tls.provider = openssl: OpenSSL is not available (needs "
                            + "netty-tcnative-boringssl-static for this platform on the classpath): "
                            + (why == null ? "unknown reason" : why.getMessage()));
                }
                yield SslProvider.OPENSSL;
            }
            default -> throw new IllegalArgumentException("tls.provider: '" + v + "' is not one of jdk, openssl");
        };
    }

    private static List<String> parseCipherSuites(ListenerConfig c) {
        String v = c.option("cipher.suites", null);
        SSLContext jdk;
        try {
            jdk = SSLContext.getDefault();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the JDK has no default TLS context: " + e.getMessage());
        }
        if (v == null) {
            return List.of(jdk.getDefaultSSLParameters().getCipherSuites());
        }
        Set<String> supported = Set.of(jdk.getSupportedSSLParameters().getCipherSuites());
        List<String> out = new ArrayList<>();
        for (String s : v.split("[,:\\s]+")) {
            if (s.isEmpty()) {
                continue;
            }
            if (!supported.contains(s)) {
                throw new IllegalArgumentException("cipher.suites: '" + s + "' is not a cipher suite of this JDK "
                        + "(use the IANA names, e.g. TLS_AES_128_GCM_SHA256, "
                        + "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
            }
            out.add(s);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("cipher.suites: no suite given");
        }
        return List.copyOf(out);
    }

    // ------------------------------------------------------------------------------------------ building

    private static SslContext build(Settings s) {
        PrivateKey key;
        X509Certificate[] chain;
        if (s.keystoreFile() != null) {
            KeyStore ks = keyStore("keystore.file", s.keystoreFile(), s.keystoreType(), s.keystorePassword());
            try {
                String alias = null;
                for (Enumeration<String> e = ks.aliases(); e.hasMoreElements(); ) {
                    String a = e.nextElement();
                    if (ks.isKeyEntry(a)) {
                        alias = a;
                        break;
                    }
                }
                if (alias == null) {
                    throw new IllegalArgumentException("keystore.file " + s.keystoreFile() + ": no private key entry");
                }
                char[] pw = s.keyPassword() != null ? s.keyPassword()
                        : s.keystorePassword() != null ? s.keystorePassword() : new char[0];
                Key k = ks.getKey(alias, pw);
                if (!(k instanceof PrivateKey pk)) {
                    throw new IllegalArgumentException("keystore.file " + s.keystoreFile() + ": entry '" + alias
                            + "' holds no private key");
                }
                key = pk;
                Certificate[] c = ks.getCertificateChain(alias);
                if (c == null || c.length == 0) {
                    throw new IllegalArgumentException("keystore.file " + s.keystoreFile() + ": entry '" + alias
                            + "' has no certificate chain");
                }
                chain = Arrays.copyOf(c, c.length, X509Certificate[].class);
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("keystore.file " + s.keystoreFile() + ": cannot read the key ("
                        + e.getMessage() + "; set key.password if the key's password is not keystore.password)");
            }
        } else {
            chain = certificates("cert.file", s.certFile());
            key = privateKey(s.keyFile(), s.keyPassword());
        }
        checkKeyMatches(key, chain[0], s.keystoreFile() != null ? "keystore.file " + s.keystoreFile()
                : "key.file " + s.keyFile() + " and cert.file " + s.certFile());
        SslContextBuilder b = SslContextBuilder.forServer(key, chain)
                .sslProvider(s.provider())
                .protocols(s.versions())
                .ciphers(s.cipherSuites(), SupportedCipherSuiteFilter.INSTANCE)
                .clientAuth(s.clientAuth());
        if (s.provider() == SslProvider.OPENSSL) {
            // OpenSSL calls back into Java during a handshake (to pick the certificate, to verify a client's): run
            // those calls at once rather than as a task the handshake stops for and the SslHandler then runs on the
            // same event loop anyway (one more pass through the engine per handshake, for nothing)
            b.option(OpenSslContextOption.USE_TASKS, false);
        }
        if (s.caFile() != null) {
            b.trustManager(certificates("ca.file", s.caFile()));
        } else if (s.truststoreFile() != null) {
            KeyStore ts = keyStore("truststore.file", s.truststoreFile(), s.truststoreType(),
                    s.truststorePassword());
            try {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ts);
                b.trustManager(tmf);
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("truststore.file " + s.truststoreFile() + ": " + e.getMessage());
            }
        }
        try {
            return b.build();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot build the TLS context: " + e.getMessage());
        }
    }

    private static byte[] read(String key, Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(key + " " + file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(key + " " + file + ": cannot be read (" + e + ")");
        }
    }

    private static KeyStore keyStore(String key, Path file, String type, char[] password) {
        byte[] bytes = read(key, file);
        try {
            KeyStore ks = KeyStore.getInstance(type);
            ks.load(new ByteArrayInputStream(bytes), password);
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException(key + " " + file + ": not a readable " + type + " keystore ("
                    + e.getMessage() + "; check the password and the type)");
        }
    }

    /** The PEM blocks of a file: label and DER bytes, with the headers of legacy encrypted PEM (or null). */
    private record Pem(String label, String headers, byte[] der) {
    }

    private static List<Pem> pem(String key, Path file, byte[] bytes) {
        List<Pem> out = new ArrayList<>();
        Matcher m = PEM.matcher(new String(bytes, java.nio.charset.StandardCharsets.US_ASCII));
        while (m.find()) {
            String body = m.group(2);
            String headers = null;
            int blank = body.indexOf("\n\n");
            if (body.contains("Proc-Type:") && blank >= 0) {
                headers = body.substring(0, blank).trim();
                body = body.substring(blank + 2);
            }
            try {
                out.add(new Pem(m.group(1), headers, Base64.getMimeDecoder().decode(body.trim())));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + " " + file + ": broken PEM block '" + m.group(1) + "'");
            }
        }
        return out;
    }

    private static X509Certificate[] certificates(String key, Path file) {
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Pem p : pem(key, file, read(key, file))) {
                if (p.label().equals("CERTIFICATE") || p.label().equals("TRUSTED CERTIFICATE")) {
                    out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(p.der())));
                }
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException(key + " " + file + ": not a valid certificate (" + e.getMessage()
                    + ")");
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(key + " " + file + ": no PEM certificate "
                    + "(-----BEGIN CERTIFICATE-----) in the file");
        }
        return out.toArray(new X509Certificate[0]);
    }

    private static final String TOPK8 = "convert it with `openssl pkcs8 -topk8 -in OLD.key -out NEW.key` "
            + "(add -nocrypt for an unencrypted key)";

    /**
     * The private key of a PEM file: PKCS#8 ("PRIVATE KEY"), encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY", as
     * {@code openssl genpkey -aes256} and {@code openssl pkcs8 -topk8} write them; PBES2 and the JDK's PBE
     * algorithms), or an unencrypted PKCS#1 RSA key ("RSA PRIVATE KEY", wrapped into PKCS#8 here). Other formats are
     * refused with the {@code openssl pkcs8 -topk8} conversion that makes them PKCS#8.
     */
    private static PrivateKey privateKey(Path file, char[] password) {
        String key = "key.file";
        List<Pem> blocks = pem(key, file, read(key, file));
        for (Pem p : blocks) {
            switch (p.label()) {
                case "PRIVATE KEY":
                    return pkcs8(file, p.der());
                case "ENCRYPTED PRIVATE KEY":
                    if (password == null) {
                        throw new IllegalArgumentException("key.file " + file + " is encrypted: set key.password");
                    }
                    return pkcs8(file, decrypt(file, p.der(), password));
                case "RSA PRIVATE KEY":
                    if (p.headers() != null) {
                        throw new IllegalArgumentException("key.file " + file + " is a PKCS#1 key encrypted the "
                                + "legacy OpenSSL way, which is not supported: " + TOPK8);
                    }
                    return pkcs8(file, rsaPkcs1ToPkcs8(p.der()));
                case "EC PRIVATE KEY", "DSA PRIVATE KEY":
                    throw new IllegalArgumentException("key.file " + file + " holds a '" + p.label()
                            + "' in the traditional format (SEC1/PKCS#1), not PKCS#8: " + TOPK8);
                default:
                    // a certificate in the same file, parameters, ...
            }
        }
        throw new IllegalArgumentException("key.file " + file + ": no PEM private key "
                + "(-----BEGIN PRIVATE KEY-----) in the file");
    }

    private static PrivateKey pkcs8(Path file, byte[] der) {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String alg : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException | RuntimeException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException("key.file " + file + ": not an RSA, EC, EdDSA or DSA PKCS#8 key");
    }

    private static byte[] decrypt(Path file, byte[] der, char[] password) {
        try {
            EncryptedPrivateKeyInfo info = new EncryptedPrivateKeyInfo(der);
            String alg = info.getAlgName();
            AlgorithmParameters params = info.getAlgParameters();
            if (PBES2_OID.equals(alg) || "PBES2".equalsIgnoreCase(alg)) {
                alg = params.toString(); // e.g. PBEWithHmacSHA256AndAES_256, what OpenSSL 1.1 and 3 write
            }
            SecretKeyFactory f = SecretKeyFactory.getInstance(alg);
            Cipher cipher = Cipher.getInstance(alg);
            cipher.init(Cipher.DECRYPT_MODE, f.generateSecret(new PBEKeySpec(password)), params);
            return info.getKeySpec(cipher).getEncoded();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("key.file " + file + ": cannot decrypt it with key.password (wrong "
                    + "password, or an encryption the JDK does not have: " + e.getMessage() + ")");
        }
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier rsaEncryption NULL, OCTET STRING pkcs1 }. */
    static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
        byte[] version = {0x02, 0x01, 0x00};
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
                0x01, 0x01, 0x05, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] len = n < 0x80 ? new byte[] {(byte) n}
                : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + len.length + n];
        out[0] = (byte) tag;
        System.arraycopy(len, 0, out, 1, len.length);
        System.arraycopy(content, 0, out, 1 + len.length, n);
        return out;
    }

    /** Refuses a key that is not the one of the certificate (a renewal that replaced one file of the two, say). */
    private static void checkKeyMatches(PrivateKey key, X509Certificate cert, String what) {
        PublicKey pub = cert.getPublicKey();
        boolean matches;
        if (key instanceof RSAPrivateCrtKey rsa && pub instanceof RSAPublicKey rpub) {
            matches = rsa.getModulus().equals(rpub.getModulus())
                    && rsa.getPublicExponent().equals(rpub.getPublicExponent());
        } else {
            String alg = switch (key.getAlgorithm()) {
                case "EC" -> "SHA256withECDSA";
                case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
                case "DSA" -> "SHA256withDSA";
                default -> null;
            };
            if (alg == null) {
                return; // nothing to compare with; the handshake will tell
            }
            try {
                byte[] data = "brokkr key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                Signature sign = Signature.getInstance(alg);
                sign.initSign(key);
                sign.update(data);
                byte[] sig = sign.sign();
                Signature verify = Signature.getInstance(alg);
                verify.initVerify(pub);
                verify.update(data);
                matches = verify.verify(sig);
            } catch (GeneralSecurityException e) {
                matches = false;
            }
        }
        if (!matches) {
            throw new IllegalArgumentException(what + ": the private key does not match the certificate ("
                    + cert.getSubjectX500Principal().getName() + ")");
        }
    }

    // ------------------------------------------------------------------------------------------ file stamps

    /** What tells a file changed: modification time, size and file key (inode; a replacing rename changes it). */
    private record Stamp(Path path, long modified, long size, Object fileKey) {
    }

    private static List<Stamp> stamp(List<Path> files) {
        List<Stamp> out = new ArrayList<>(files.size());
        for (Path p : files) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                out.add(new Stamp(p, a.lastModifiedTime().to(TimeUnit.NANOSECONDS), a.size(), a.fileKey()));
            } catch (IOException e) {
                out.add(new Stamp(p, -1, -1, null)); // gone or unreadable: the load that follows says why
            }
        }
        return out;
    }
}
