package io.brokkr.broker.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MQTT over WebSocket (MQTT 5.0 section 6, 3.1.1 section 6) for {@code type = ws} listeners, with Netty's HTTP and
 * WebSocket codecs: the HTTP upgrade on the listener's {@code path} with the subprotocol {@code mqtt} (and
 * {@code mqttv3.1}, which old clients ask for), then binary frames, whose payloads (continuation frames included)
 * are the MQTT byte stream: an MQTT packet may span frames and a frame may hold several packets [MQTT-6.0.0-2], the
 * MQTT decoder behind reassembles them as it does TCP reads. Outbound, each write (one MQTT packet) becomes one
 * binary frame. A request for another path is answered 404; a text frame closes the connection with status 1003
 * [MQTT-6.0.0-1]. Pings and pongs are answered by Netty's protocol handler. A client's Close frame is the end of its
 * input, as a TCP client's FIN is: the MQTT handler behind first processes what the client sent before it (packets
 * held by back-pressure too), then ends the connection with a Close frame of its own ({@link Closing}), after which
 * the connection closes. A Close frame that answers the broker's closes it at once. (Netty's protocol handler,
 * which answered a client's Close and closed the connection at once, dropped what was held: MQTT.js publishing over
 * ws into a slow subscriber lost the last 68 to 162 of 100,000 messages in 2 of 10 runs.) The {@link PacketInspector}
 * goes behind these handlers, so that it sees (and counts) MQTT bytes, not frames.
 */
public final class WebSocketSupport {

    private static final Logger LOG = LoggerFactory.getLogger(WebSocketSupport.class);

    /** The subprotocols offered, in order of preference [MQTT-6.0.0-4]. */
    public static final String SUBPROTOCOLS = "mqtt,mqttv3.1";
    /** Bytes of an HTTP upgrade request (headers included) at most. */
    private static final int MAX_REQUEST = 16 * 1024;
    /** How long the HTTP upgrade may take. */
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;

    private WebSocketSupport() {
    }

    /**
     * Adds the HTTP upgrade and the frame handlers for WebSocket connections on {@code path} to a new connection's
     * pipeline, after the handlers already there (PROXY protocol, TLS for {@code wss}); the MQTT handlers go after
     * these.
     *
     * @param maxFrameSize the largest frame payload accepted (the broker's maximum packet size: a client sends one
     *                     packet per frame, as a rule)
     */
    public static void addHandlers(ChannelPipeline p, String path, int maxFrameSize) {
        p.addLast("ws-http", new HttpServerCodec());
        p.addLast("ws-aggregator", new HttpObjectAggregator(MAX_REQUEST));
        p.addLast("ws", new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                .websocketPath(path)
                .subprotocols(SUBPROTOCOLS)
                .checkStartsWith(false)
                .handshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MILLIS)
                .handleCloseFrames(false) // Frames does, see above
                .decoderConfig(WebSocketDecoderConfig.newBuilder()
                        .maxFramePayloadLength(maxFrameSize)
                        .allowExtensions(false)
                        .closeOnProtocolViolation(true)
                        .build())
                .build()));
        p.addLast("ws-frames", new Frames(path));
    }

    /**
     * Frames to bytes and back: binary and continuation frames' payloads go on as ByteBufs, ByteBufs written are
     * sent as binary frames. Also answers HTTP requests the upgrade handler passed on (another path) with 404.
     */
    static final class Frames extends ChannelDuplexHandler {

        private final String path;
        /** A text or Close frame came: the connection is closing, frames still read are dropped. */
        private boolean closing;
        /** The client sent a Close frame: the broker's Close frame, when it is written, closes the connection. */
        private boolean closeReceived;
        /** The broker sent a Close frame: the client's answer closes the connection. */
        private boolean closeSent;

        Frames(String path) {
            this.path = path;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof CloseWebSocketFrame f) {
                f.release();
                if (closeSent) {
                    ctx.close(); // the client's answer to the broker's Close
                } else if (!closing) {
                    closing = true;
                    closeReceived = true;
                    // the end of the client's input: the MQTT handler processes what came before, then ends the
                    // connection, writing the Close frame that answers this one
                    ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
                }
            } else if (closing) {
                ReferenceCountUtil.release(msg);
            } else if (msg instanceof BinaryWebSocketFrame || msg instanceof ContinuationWebSocketFrame) {
                ctx.fireChannelRead(((WebSocketFrame) msg).content());
            } else if (msg instanceof WebSocketFrame f) {
                f.release(); // text: MQTT is binary only
                closing = true;
                LOG.info("WebSocket connection from {}: {} received, closing (MQTT needs binary frames)",
                        ProxyProtocolHandler.remoteAddress(ctx.channel()), f.getClass().getSimpleName());
                ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.INVALID_MESSAGE_TYPE))
                        .addListener(ChannelFutureListener.CLOSE);
            } else if (msg instanceof FullHttpRequest req) {
                String uri = req.uri();
                req.release();
                LOG.debug("WebSocket connection from {}: request for {} (not {}), 404",
                        ProxyProtocolHandler.remoteAddress(ctx.channel()), uri, path);
                FullHttpResponse res = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.NOT_FOUND,
                        Unpooled.copiedBuffer("MQTT over WebSocket is on " + path + "\n", StandardCharsets.UTF_8));
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes())
                        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.fireChannelRead(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete hc) {
                LOG.debug("WebSocket connection from {}: upgraded on {} (subprotocol {})",
                        ProxyProtocolHandler.remoteAddress(ctx.channel()), hc.requestUri(), hc.selectedSubprotocol());
                return; // nothing behind needs it
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof CloseWebSocketFrame) {
                closeSent = true;
                if (closeReceived) {
                    // the answer to the client's Close: the close handshake is complete once it is out
                    promise = promise.unvoid();
                    promise.addListener(ChannelFutureListener.CLOSE);
                }
            }
            ctx.write(msg instanceof ByteBuf b ? new BinaryWebSocketFrame(b) : msg, promise);
        }
    }
}
