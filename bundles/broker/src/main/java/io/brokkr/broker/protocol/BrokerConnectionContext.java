package io.brokkr.broker.protocol;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.transport.ProxyProtocolHandler;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The broker's {@link ConnectionContext}: created once per connection when its CONNECT has been validated (before
 * authentication), kept by the connection and, for its will, by its session. The principal is set once, on the
 * channel's loop, when authentication allows the connection, before the context reaches an authorizer or an
 * interceptor.
 */
final class BrokerConnectionContext implements ConnectionContext {

    private final ListenerConfig listener; // the one of the CONNECT: a later reconfiguration does not change it
    private final InetSocketAddress localAddress;
    private final InetSocketAddress remoteAddress;
    private final ProtocolVersion protocolVersion;
    private final String clientId;
    private final String username;
    /** Null on a plain TCP connection (one field for the two, to keep the object at 48 bytes). */
    private final Tls tls;
    /** Created on first use (most connections' extensions keep no attributes): 64 bytes less per connection. */
    private volatile ConcurrentMap<String, Object> attributes;
    private volatile BrokkrPrincipal principal;

    BrokerConnectionContext(ListenerConfig listener, Channel channel, ProtocolVersion protocolVersion,
                            String clientId, String username) {
        this.listener = listener;
        this.localAddress = inet(channel.localAddress());
        this.remoteAddress = inet(ProxyProtocolHandler.remoteAddress(channel)); // the client's, behind a proxy too
        this.protocolVersion = protocolVersion;
        this.clientId = clientId;
        this.username = username;
        // a "tls" listener puts an SslHandler first into the pipeline (TlsSupport), whose handshake is complete
        // before the first MQTT packet is decoded
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        SSLSession session = ssl == null ? null : ssl.engine().getSession();
        // an engine that did not ask for a certificate (client.auth = none) has none to give: asking its session
        // would throw SSLPeerUnverifiedException, and fill in its stack trace, on every TLS connection
        boolean asked = ssl != null && (ssl.engine().getNeedClientAuth() || ssl.engine().getWantClientAuth());
        this.tls = session == null ? null : new Tls(session, asked ? peerChain(session) : null);
    }

    private record Tls(SSLSession session, List<X509Certificate> peerCertificates) {
    }

    private static InetSocketAddress inet(SocketAddress a) {
        return a instanceof InetSocketAddress isa ? isa : null;
    }

    private static List<X509Certificate> peerChain(SSLSession session) {
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null; // the client presented no certificate
        }
        List<X509Certificate> out = new ArrayList<>(chain.length);
        for (Certificate c : chain) {
            if (c instanceof X509Certificate x) {
                out.add(x);
            }
        }
        return List.copyOf(out);
    }

    /** Called once, when an authenticator (or the anonymous policy) allowed the connection. */
    void principal(BrokkrPrincipal p) {
        principal = p;
    }

    @Override
    public String listenerName() {
        return listener.name();
    }

    @Override
    public String listenerType() {
        return listener.type();
    }

    @Override
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remoteAddress;
    }

    @Override
    public ProtocolVersion protocolVersion() {
        return protocolVersion;
    }

    @Override
    public String clientId() {
        return clientId;
    }

    @Override
    public String username() {
        return username;
    }

    @Override
    public SSLSession sslSession() {
        return tls == null ? null : tls.session();
    }

    @Override
    public List<X509Certificate> peerCertificates() {
        return tls == null ? null : tls.peerCertificates();
    }

    @Override
    public BrokkrPrincipal principal() {
        return principal;
    }

    @Override
    public ConcurrentMap<String, Object> attributes() {
        ConcurrentMap<String, Object> a = attributes;
        if (a == null) {
            ConcurrentMap<String, Object> created = new ConcurrentHashMap<>();
            a = (ConcurrentMap<String, Object>) ATTRIBUTES.compareAndExchange(this, null, created);
            if (a == null) {
                a = created; // any thread: whoever sets it first wins, the others use that one
            }
        }
        return a;
    }

    private static final VarHandle ATTRIBUTES;

    static {
        try {
            ATTRIBUTES = MethodHandles.lookup().findVarHandle(BrokerConnectionContext.class, "attributes",
                    ConcurrentMap.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @Override
    public String toString() {
        return "ConnectionContext[" + clientId + " from " + remoteAddress + " on " + listener.name() + "]";
    }
}
