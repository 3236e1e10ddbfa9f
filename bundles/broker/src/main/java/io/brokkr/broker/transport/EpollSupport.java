package io.brokkr.broker.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.util.concurrent.ThreadFactory;

/**
 * Everything that touches Netty's epoll classes. The package import is optional in OSGi, so this class is only
 * loaded after {@link #available()} said yes (which itself fails safely when the classes are missing).
 */
public final class EpollSupport {

    private EpollSupport() {
    }

    public static boolean available() {
        try {
            return Epoll.isAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    public static EventLoopGroup group(int threads, ThreadFactory tf) {
        return new EpollEventLoopGroup(threads, tf);
    }

    public static Class<? extends ServerChannel> serverChannel() {
        return EpollServerSocketChannel.class;
    }
}
