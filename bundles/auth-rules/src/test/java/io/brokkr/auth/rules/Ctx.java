package io.brokkr.auth.rules;

import io.brokkr.api.BrokkrPrincipal;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.ProtocolVersion;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.net.ssl.SSLSession;

/**
 * The facts of a connection for the evaluation tables (the rules only read them). The end-to-end tests use the
 * broker's own contexts.
 */
final class Ctx implements ConnectionContext {

    String user;
    String clientId = "client";
    String listener = "tcp";
    InetSocketAddress remote;
    BrokkrPrincipal principal;
    final ConcurrentMap<String, Object> attributes = new ConcurrentHashMap<>();

    Ctx() {
        address("127.0.0.1");
    }

    static Ctx user(String user) {
        Ctx c = new Ctx();
        c.user = user;
        return c;
    }

    Ctx client(String id) {
        clientId = id;
        return this;
    }

    Ctx listener(String name) {
        listener = name;
        return this;
    }

    Ctx roles(String... roles) {
        principal = BrokkrPrincipal.of(user == null ? "cert" : user, roles);
        return this;
    }

    Ctx address(String literal) {
        try {
            remote = new InetSocketAddress(InetAddress.getByName(literal), 40000);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
        attributes.remove(Cidr.ATTRIBUTE);
        return this;
    }

    @Override
    public String listenerName() {
        return listener;
    }

    @Override
    public String listenerType() {
        return "tcp";
    }

    @Override
    public InetSocketAddress localAddress() {
        return new InetSocketAddress(1883);
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public ProtocolVersion protocolVersion() {
        return ProtocolVersion.MQTT_5;
    }

    @Override
    public String clientId() {
        return clientId;
    }

    @Override
    public String username() {
        return user;
    }

    @Override
    public SSLSession sslSession() {
        return null;
    }

    @Override
    public List<X509Certificate> peerCertificates() {
        return null;
    }

    @Override
    public BrokkrPrincipal principal() {
        return principal;
    }

    @Override
    public ConcurrentMap<String, Object> attributes() {
        return attributes;
    }

    @Override
    public String toString() {
        return "user=" + user + " client=" + clientId + " listener=" + listener + " address=" + remote
                + " roles=" + (principal == null ? "-" : principal.roles());
    }
}
