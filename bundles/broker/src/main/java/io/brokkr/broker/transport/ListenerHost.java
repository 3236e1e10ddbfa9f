package io.brokkr.broker.transport;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.Stats;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;

/**
 * What a {@link Listener} needs from the engine (implemented by the broker): the event loop groups, the counters,
 * and the MQTT handlers that go behind the transport's own handlers, so that the transport never names the
 * protocol's classes.
 */
public interface ListenerHost {

    EventLoopGroup bossGroup();

    EventLoopGroup workerGroup();

    Class<? extends ServerChannel> serverChannelClass();

    BrokerConfig config();

    /** The broker's counters (bytes in and out are counted by the transport). */
    Stats counters();

    /**
     * Adds the MQTT handlers (CONNECT timeout, codec, connection) of a new connection of {@code listener} to its
     * pipeline, which holds the transport's handlers: the connection's behind them, its decoder inside the
     * {@link PacketInspector} ({@link PacketInspector#decodeWith}).
     */
    void addMqttHandlers(ChannelPipeline pipeline, Listener listener);

    /**
     * Closes one connection of a listener that is closing: an MQTT 5 client gets DISCONNECT 0x8B (Server shutting
     * down) first, others are just closed.
     */
    ChannelFuture shutdown(Channel channel);

    /** The listener that accepted {@code channel}, or null if it has no MQTT handlers (refused at once). */
    Listener listenerOf(Channel channel);
}
