package io.brokkr.api;

import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.ConcurrentMap;
import javax.net.ssl.SSLSession;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The facts of one network connection, captured once by the broker when the client's CONNECT arrives and handed,
 * as the same object, to every extension called for that connection: {@code Authenticator} (while authenticating),
 * {@code Authorizer} (the will at CONNECT, then every SUBSCRIBE and PUBLISH) and {@code MessageInterceptor}
 * (connect, subscribe, messages received and delivered, disconnect, and the client's will, also when it is
 * published after the connection closed).
 *
 * <p>Everything but {@link #principal()} and {@link #attributes()} is fixed when the context is created. The
 * principal is set once, by the broker, when an authenticator allows the connection, before any authorizer or
 * interceptor sees the context. The attribute map is where extensions keep their own per-connection data; an
 * authenticator may fill it and authorizers and interceptors read it later. Extensions are called on different
 * threads for one connection (an authenticator's stage may complete anywhere, interceptors run on network threads),
 * so the map is thread-safe.
 *
 * <p>Implemented by the broker only.
 */
@ProviderType
public interface ConnectionContext {

    /** The name of the listener the connection came through (the {@code <name>} of its cfg file). */
    String listenerName();

    /** The type of that listener, e.g. "tcp". */
    String listenerType();

    /** The broker's end of the connection. */
    InetSocketAddress localAddress();

    /** The client's end of the connection. */
    InetSocketAddress remoteAddress();

    /** The MQTT version of the CONNECT. */
    ProtocolVersion protocolVersion();

    /** The client identifier, as assigned by the broker if the client sent an empty one. */
    String clientId();

    /** The user name of the CONNECT, or null. */
    String username();

    /** The TLS session of the connection, or null on a plain TCP connection. */
    SSLSession sslSession();

    /**
     * The certificate chain the client presented during the TLS handshake, the client's own certificate first; null
     * on a plain TCP connection or when the client presented none.
     */
    List<X509Certificate> peerCertificates();

    /**
     * The principal the authenticator that allowed the connection returned with its decision
     * ({@code AuthenticationResult.allow(principal)}); null while authenticating, and when the connection was
     * allowed without one (an authenticator's {@code allow()}, or {@code allow.anonymous} with no authenticator
     * deciding).
     */
    BrokkrPrincipal principal();

    /** Whether the {@link #principal()} has {@code role}; false without a principal. */
    default boolean hasRole(String role) {
        BrokkrPrincipal p = principal();
        return p != null && p.hasRole(role);
    }

    /**
     * Per-connection data of extensions, thread-safe, empty when the connection starts and dropped with the context.
     * Use keys that name the extension (e.g. "com.example.tenant") so that extensions do not clash.
     */
    ConcurrentMap<String, Object> attributes();
}
