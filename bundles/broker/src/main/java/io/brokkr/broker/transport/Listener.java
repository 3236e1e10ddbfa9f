package io.brokkr.broker.transport;

import io.brokkr.api.ListenerInfo;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.config.ListenerOptions;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SingleThreadEventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A network listener. Its type ({@code tcp}, {@code tls}, {@code ws}, {@code wss}) is a {@link TransportProvider},
 * whose front handlers go in front of the MQTT handlers of each new connection in {@link #initChannel}; those come
 * from the {@link ListenerHost}. On any type, {@code proxy.protocol} puts the {@link ProxyProtocolHandler} first and
 * {@code max.connections} bounds the open connections ({@link ConnectionLimit}); see {@link ListenerOptions}.
 */
public final class Listener {

    private static final Logger LOG = LoggerFactory.getLogger(Listener.class);

    /** The listener types. */
    public static final java.util.Set<String> TYPES = TransportProvider.BUILT_IN.keySet();

    private final ListenerHost broker;
    private volatile ListenerConfig config;
    /** The per-listener keys of {@link #config}, checked. */
    private volatile ListenerOptions options;
    private final ConnectionLimit limit = new ConnectionLimit();
    private final SharedLocalAddress localAddress = new SharedLocalAddress();
    private volatile Channel serverChannel;
    /** {@link #close()} was called: the listener accepts no more connections and has none. */
    private volatile boolean closed;
    private volatile String error;
    /** Why the configuration cannot be used (a bad per-listener key, a cfg file that does not parse), or null. */
    private volatile String invalid;
    /** The front handlers of the listener's type for its current cfg (the TLS context, ...), rebuilt on a change. */
    private volatile TransportProvider.FrontHandlers front;
    /**
     * One receive buffer sizing policy for all connections (Netty otherwise creates one per channel); the per-channel
     * state lives in the handle each channel takes from it, a smaller one than Netty's ({@link CompactRecvAllocator}).
     */
    private static final CompactRecvAllocator RECV_ALLOCATOR = new CompactRecvAllocator();

    public Listener(ListenerHost broker, ListenerConfig config) {
        this.broker = broker;
        this.config = config;
        try {
            this.options = ListenerOptions.of(config);
        } catch (IllegalArgumentException e) {
            invalid(e.getMessage()); // listed unbound with the reason (bind() refuses) until a cfg change fixes it
        }
    }

    /**
     * Marks the listener's configuration as unusable for {@code reason} (a per-listener key, or a key the cfg file
     * could not be read with): {@link #bind()} refuses, and the listener is listed unbound with the reason until
     * {@link #reconfigure} gets a configuration that works.
     */
    public void invalid(String reason) {
        invalid = reason;
    }

    public String name() {
        return config.name();
    }

    public ListenerConfig config() {
        return config;
    }

    /** The per-listener keys (PROXY protocol, WebSocket path, anonymous access, connection bound, auth filter). */
    public ListenerOptions options() {
        return options;
    }

    /** Connections closed at once because {@code max.connections} were open, since the listener was created. */
    public long refusedConnections() {
        return limit.refused();
    }

    /** The bound port, or -1 if not bound. */
    public int port() {
        Channel ch = serverChannel;
        return ch == null ? -1 : ((InetSocketAddress) ch.localAddress()).getPort();
    }

    /** The last bind error, or null. */
    public String error() {
        return error;
    }

    public synchronized void bind() {
        ListenerConfig c = config;
        if (invalid != null) {
            error = invalid;
            LOG.error("Listener {}: {}; not accepting connections until its cfg is fixed", c.name(), error);
            throw new IllegalStateException("Listener " + c.name() + ": " + error);
        }
        if (!TYPES.contains(c.type())) {
            // listed unbound with the reason, like a port in use, until the cfg names a known type
            error = "unknown type '" + c.type() + "' (supported: tcp, tls, ws, wss)";
            LOG.error("Listener {}: {}", c.name(), error);
            throw new IllegalStateException("Listener " + c.name() + ": " + error);
        }
        applyTransport(c);
        ServerBootstrap b = new ServerBootstrap()
                .group(broker.bossGroup(), broker.workerGroup())
                .channel(broker.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                // a client's FIN does not close the connection by itself: MqttConnection first processes what the
                // client sent before it (packets held while its CONNECT is authenticated), then closes
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, RECV_ALLOCATOR)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(512 * 1024, 2 * 1024 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Listener.this.initChannel(ch);
                    }
                });
        try {
            serverChannel = b.bind(c.host(), c.port()).syncUninterruptibly().channel();
            error = null;
            LOG.info("Listener {} ({}) accepting MQTT connections on {}:{}", c.name(), c.type(), c.host(), port());
        } catch (Exception e) {
            serverChannel = null;
            error = "cannot bind " + c.host() + ":" + c.port() + ": " + e.getMessage();
            LOG.error("Listener {}: {}", c.name(), error);
            throw new IllegalStateException("Listener " + c.name() + ": " + error, e);
        }
    }

    private void initChannel(SocketChannel ch) {
        if (closed) { // accepted just before close() and registered on its loop after close() looked there
            ch.close();
            return;
        }
        ListenerOptions o = options;
        if (!limit.admit(ch, config.name(), o.maxConnections())) {
            return;
        }
        localAddress.share(ch); // before anything asks the channel for it
        ChannelPipeline p = ch.pipeline();
        if (o.proxyProtocol()) {
            ProxyProtocolHandler.addHandlers(p, config.name()); // first: the header precedes everything, TLS too
        }
        front.addTo(ch, p);
        p.addLast("inspector", new PacketInspector(broker.counters())); // also counts the bytes in and out
        broker.addMqttHandlers(p, this);
    }


    /**
     * Applies a new configuration: rebinds if the address changed (open connections stay); the per-listener keys
     * apply to the next connections. IllegalArgumentException (and nothing changed) if they are not valid.
     */
    public synchronized void reconfigure(ListenerConfig newConfig) {
        ListenerConfig old = config;
        try {
            options = ListenerOptions.of(newConfig);
        } catch (IllegalArgumentException e) {
            if (serverChannel != null) {
                // a running listener keeps working with the keys it has; mqtt:listeners shows why the change waits
                error = "cfg change not applied: " + e.getMessage();
                LOG.error("{}; the listener keeps its configuration", e.getMessage());
            } else {
                config = newConfig;
                invalid = e.getMessage();
                error = invalid;
                LOG.error("Listener {}: {}; not accepting connections until its cfg is fixed", newConfig.name(),
                        invalid);
            }
            throw e;
        }
        invalid = null;
        if (error != null && error.startsWith("cfg change not applied")) {
            error = null;
        }
        config = newConfig;
        if (!old.host().equals(newConfig.host()) || old.port() != newConfig.port() || serverChannel == null
                || !old.type().equals(newConfig.type())) {
            unbind();
            bind();
        } else if (!old.options().equals(newConfig.options())) {
            try {
                applyTransport(newConfig); // e.g. new TLS settings for new handshakes, without rebinding
            } catch (IllegalStateException e) {
                unbind();
                throw e;
            }
        }
    }

    /**
     * Opens the listener type's state for {@code c} ({@link TransportProvider#open}: the TLS context of a tls or wss
     * listener, ...); a cfg that does not open leaves the listener unbound with the reason as its {@link #error()}.
     */
    private void applyTransport(ListenerConfig c) {
        try {
            front = TransportProvider.BUILT_IN.get(c.type()).open(c, options, broker.config().maxPacketSize());
        } catch (IllegalArgumentException e) {
            error = e.getMessage();
            LOG.error("Listener {}: {}; not accepting connections until its cfg is fixed", c.name(), error);
            throw new IllegalStateException("Listener " + c.name() + ": " + error, e);
        }
    }

    private void unbind() {
        Channel ch = serverChannel;
        serverChannel = null;
        if (ch != null) {
            ch.close().syncUninterruptibly();
        }
    }

    /** How long {@link #close()} waits for the connections to take their DISCONNECT and close. */
    public static final long CLOSE_GRACE_MILLIS = 2_000;

    /**
     * Stops accepting and closes the connections of this listener (on broker shutdown, bundle stop or when the
     * listener is removed): MQTT 5 clients get DISCONNECT with reason code 0x8B (Server shutting down) first, MQTT
     * 3.x clients and connections without a CONNACK are just closed. Connections still open after
     * {@link #CLOSE_GRACE_MILLIS} (a client that does not read) are closed regardless.
     */
    public synchronized void close() {
        closed = true;
        unbind();
        List<ChannelFuture> closing = onEachConnection(broker::shutdown);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_GRACE_MILLIS);
        for (ChannelFuture f : closing) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !f.awaitUninterruptibly(left, TimeUnit.NANOSECONDS)) {
                break;
            }
        }
        List<ChannelFuture> closes = onEachConnection(Channel::close);
        long closeDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (ChannelFuture f : closes) {
            long left = closeDeadline - System.nanoTime();
            if (left <= 0 || !f.awaitUninterruptibly(left, TimeUnit.NANOSECONDS)) {
                break;
            }
        }
        LOG.info("Listener {} closed", config.name());
    }

    /**
     * True once {@link #close()} was called. A connection that was moving between event loops then (on no loop, so
     * not found by {@link #close()}) checks this when it arrives and closes.
     */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Applies {@code action} to each open connection of this listener, on the connection's event loop, and returns
     * what it returned. The loops know their channels; the listener does not keep a set of its own (40 bytes per
     * connection). Waits at most 5 s for each loop.
     */
    private List<ChannelFuture> onEachConnection(Function<Channel, ChannelFuture> action) {
        List<ChannelFuture> out = Collections.synchronizedList(new ArrayList<>());
        List<Future<?>> tasks = new ArrayList<>();
        for (EventExecutor e : broker.workerGroup()) {
            if (!(e instanceof SingleThreadEventLoop loop) || loop.isShutdown()) {
                continue;
            }
            Runnable task = () -> {
                List<Channel> mine = new ArrayList<>();
                for (Iterator<Channel> it = loop.registeredChannelsIterator(); it.hasNext(); ) {
                    Channel ch = it.next();
                    if (broker.listenerOf(ch) == this) {
                        mine.add(ch);
                    }
                }
                for (Channel ch : mine) { // not while iterating: a close can change the loop's channels
                    out.add(action.apply(ch));
                }
            };
            if (loop.inEventLoop()) {
                task.run();
            } else {
                tasks.add(loop.submit(task));
            }
        }
        for (Future<?> t : tasks) {
            if (!t.awaitUninterruptibly(5, TimeUnit.SECONDS)) {
                LOG.warn("Listener {}: an event loop did not list its connections within 5 s", config.name());
            }
        }
        return new ArrayList<>(out);
    }

    public ListenerInfo info() {
        ListenerConfig c = config;
        int p = port();
        return new ListenerInfo(c.name(), c.type(), c.host(), p < 0 ? c.port() : p, serverChannel != null,
                limit.open(), error);
    }
}
