package io.brokkr.broker.transport;

import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.config.ListenerOptions;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import java.util.Map;

/**
 * One listener type ({@code type} in a listener's cfg): what it puts in front of the MQTT handlers of every new
 * connection, in one shared pipeline. The {@link Listener} asks its type's provider to {@link #open} the type's state
 * for a configuration (the TLS context from the certificate files, say) when it binds and when its cfg changes, and
 * then asks that state for the front handlers of each connection it accepts. The PROXY protocol header, which any
 * type may have, comes before them ({@link ProxyProtocolHandler}); the byte counting inspector and the MQTT handlers
 * after them.
 */
public interface TransportProvider {

    /** The front handlers of one listener configuration, added to each new connection's pipeline. */
    @FunctionalInterface
    interface FrontHandlers {
        void addTo(SocketChannel channel, ChannelPipeline pipeline);
    }

    /** The listener type this provider serves ({@code tcp}, {@code tls}, {@code ws}, {@code wss}). */
    String type();

    /**
     * Prepares the type's state for {@code config}.
     *
     * @param maxPacketSize the broker's largest accepted packet (a WebSocket frame may carry one)
     * @throws IllegalArgumentException with the reason the listener is listed unbound with, if the cfg is wrong
     */
    FrontHandlers open(ListenerConfig config, ListenerOptions options, int maxPacketSize);

    /** Plain MQTT over TCP: nothing in front. */
    TransportProvider TCP = provider("tcp", (c, o, max) -> (ch, p) -> {
    });

    /** MQTT over TLS 1.2/1.3 ({@link TlsSupport}): an SslHandler "tls" first; changed certificate files reload. */
    TransportProvider TLS = provider("tls", (c, o, max) -> {
        TlsSupport tls = openTls(c);
        return (ch, p) -> p.addLast("tls", tls.newHandler(ch));
    });

    /** MQTT over WebSocket ({@link WebSocketSupport}): the HTTP upgrade on {@code path}, frames to bytes and back. */
    TransportProvider WS = provider("ws", (c, o, max) -> (ch, p) -> WebSocketSupport.addHandlers(p, o.path(), max));

    /** MQTT over WebSocket over TLS: the handlers of {@link #TLS}, then those of {@link #WS}. */
    TransportProvider WSS = provider("wss", (c, o, max) -> {
        TlsSupport tls = openTls(c);
        return (ch, p) -> {
            p.addLast("tls", tls.newHandler(ch));
            WebSocketSupport.addHandlers(p, o.path(), max);
        };
    });

    /** The built-in types by name. */
    Map<String, TransportProvider> BUILT_IN = Map.of(TCP.type(), TCP, TLS.type(), TLS, WS.type(), WS,
            WSS.type(), WSS);

    private static TlsSupport openTls(ListenerConfig c) {
        try {
            return TlsSupport.open(c);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS: " + e.getMessage(), e);
        }
    }

    /** A provider from its type name and how it opens. */
    static TransportProvider provider(String type, Opener opener) {
        return new TransportProvider() {
            @Override
            public String type() {
                return type;
            }

            @Override
            public FrontHandlers open(ListenerConfig config, ListenerOptions options, int maxPacketSize) {
                return opener.open(config, options, maxPacketSize);
            }

            @Override
            public String toString() {
                return "TransportProvider[" + type + "]";
            }
        };
    }

    /** The {@link #open} of a provider made by {@link #provider}. */
    @FunctionalInterface
    interface Opener {
        FrontHandlers open(ListenerConfig config, ListenerOptions options, int maxPacketSize);
    }
}
