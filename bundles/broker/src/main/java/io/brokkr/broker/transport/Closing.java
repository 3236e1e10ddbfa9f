package io.brokkr.broker.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.ssl.SslHandler;

/**
 * How the broker ends a connection after its last packet so that the client reads everything before the end: the
 * broker stops sending and goes on reading (the caller drops what comes) until the client closes its side, instead
 * of closing the socket at once. A socket closed while the client's packets are still arriving (a PUBREL for a
 * PUBREC it had not read yet) answers them with a TCP reset, after which the client's next write fails ("Broken
 * pipe") or its unread data, the broker's DISCONNECT among it, is gone before it reads it.
 * <ul>
 * <li>TCP: the output is shut down (FIN).</li>
 * <li>TLS: close_notify, then the output is shut down.</li>
 * <li>WebSocket (also over TLS): a Close frame, status 1000 [RFC 6455 5.5.1]; the client answers with its own, upon
 * which Netty's protocol handler closes the connection.</li>
 * </ul>
 * The caller bounds the wait (it closes the channel after a while in any case).
 */
public final class Closing {

    private Closing() {
    }

    /**
     * Ends the broker's side of {@code ch}'s connection as above; the connection closes when the client closes its
     * side. Channel loop. A channel that is not active, or that cannot be half-closed, is closed at once.
     */
    public static void endOutput(Channel ch) {
        if (!(ch instanceof DuplexChannel d) || !ch.isActive()) {
            ch.close();
            return;
        }
        if (ch.pipeline().get(WebSocketSupport.Frames.class) != null) {
            ch.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE))
                    .addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            return;
        }
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (ssl == null) {
            shutdownOutput(d);
        } else {
            ssl.closeOutbound().addListener(f -> {
                if (f.isSuccess()) {
                    shutdownOutput(d);
                } else {
                    ch.close();
                }
            });
        }
    }

    private static void shutdownOutput(DuplexChannel d) {
        d.shutdownOutput().addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }
}
