package io.brokkr.broker.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code proxy.protocol = true}: each connection of the listener starts with a PROXY protocol header (v1, text, or
 * v2, binary; <a href="https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt">proxy-protocol.txt</a>) sent by
 * the load balancer in front of the broker; its source address is the client's real address, which
 * {@link #remoteAddress(Channel)} returns from then on instead of the load balancer's (for authenticators through
 * {@code ConnectionContext.remoteAddress()}, for {@code mqtt:clients} and for the log). Netty's
 * {@link HAProxyMessageDecoder} decodes the header, first in the pipeline (before TLS and WebSocket), and removes
 * itself; this handler takes the decoded header and removes itself too. A connection whose first bytes are not a
 * header (a client that connects directly, or a scanner) is closed at once and logged; a LOCAL header (the load
 * balancer's own health check) or one with an UNKNOWN or UNIX address family keeps the socket's address.
 */
public final class ProxyProtocolHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyProtocolHandler.class);

    /** The client's address from the header; absent on connections without one. */
    private static final AttributeKey<InetSocketAddress> CLIENT = AttributeKey.valueOf("brokkr.proxy.client");

    private final String listener;
    private boolean headerSeen;

    private ProxyProtocolHandler(String listener) {
        this.listener = listener;
    }

    /** Adds the PROXY protocol decoding to a new connection's pipeline, in front of whatever comes next. */
    public static void addHandlers(ChannelPipeline p, String listener) {
        p.addLast("proxy-decoder", new SignatureCheckingDecoder(listener));
        p.addLast("proxy", new ProxyProtocolHandler(listener));
    }

    /**
     * The client's address: the source address of the connection's PROXY protocol header if it had one, else the
     * socket's remote address.
     */
    public static SocketAddress remoteAddress(Channel ch) {
        if (ch.hasAttr(CLIENT)) { // hasAttr first: never adds an attribute to a connection without a header
            InetSocketAddress a = ch.attr(CLIENT).get();
            if (a != null) {
                return a;
            }
        }
        return ch.remoteAddress();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HAProxyMessage m) {
            try {
                headerSeen = true;
                InetSocketAddress client = client(m);
                if (client != null) {
                    ctx.channel().attr(CLIENT).set(client);
                }
                LOG.debug("Listener {}: connection from {} through {} ({} {})", listener,
                        client == null ? "(the proxy itself)" : client, ctx.channel().remoteAddress(),
                        m.protocolVersion(), m.command());
            } finally {
                m.release();
            }
            ctx.pipeline().remove(this);
        } else if (headerSeen) {
            ctx.fireChannelRead(msg);
        } else { // cannot happen: the decoder passes nothing on before the header
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    /** The source address of a PROXY command over TCP or UDP, else null. */
    private static InetSocketAddress client(HAProxyMessage m) {
        if (m.command() != HAProxyCommand.PROXY || m.sourceAddress() == null) {
            return null;
        }
        HAProxyProxiedProtocol.AddressFamily family = m.proxiedProtocol().addressFamily();
        if (family != HAProxyProxiedProtocol.AddressFamily.AF_IPv4
                && family != HAProxyProxiedProtocol.AddressFamily.AF_IPv6) {
            return null;
        }
        try {
            // a numeric address (the decoder checked it): no name lookup
            return new InetSocketAddress(InetAddress.getByName(m.sourceAddress()), m.sourcePort());
        } catch (UnknownHostException e) {
            return null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!headerSeen) {
            LOG.info("Listener {}: connection from {} closed: invalid PROXY protocol header ({})", listener,
                    ctx.channel().remoteAddress(), cause.getMessage());
            ctx.close();
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }

    /**
     * The decoder, which first checks that the connection's first bytes begin one of the two headers: the decoder
     * itself takes anything that is not a v2 header for a v1 line and waits for its end of line, so that an MQTT
     * client talking to such a listener directly would be held until the CONNECT timeout.
     */
    private static final class SignatureCheckingDecoder extends HAProxyMessageDecoder {

        private static final byte[] V1 = {'P', 'R', 'O', 'X', 'Y', ' '};
        private static final byte[] V2 = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

        private final String listener;
        private int checked;
        private boolean v1 = true;
        private boolean v2 = true;

        SignatureCheckingDecoder(String listener) {
            this.listener = listener;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (checked < V2.length && msg instanceof ByteBuf b) {
                for (int i = b.readerIndex(); i < b.writerIndex() && checked < V2.length; i++, checked++) {
                    byte c = b.getByte(i);
                    v1 &= checked >= V1.length || c == V1[checked];
                    v2 &= c == V2[checked];
                }
                if (!v1 && !v2) {
                    checked = V2.length;
                    b.release();
                    LOG.info("Listener {}: connection from {} closed: no PROXY protocol header", listener,
                            ctx.channel().remoteAddress());
                    ctx.close();
                    return;
                }
            }
            super.channelRead(ctx, msg);
        }
    }
}
