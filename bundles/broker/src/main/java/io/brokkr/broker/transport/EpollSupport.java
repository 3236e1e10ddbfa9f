package io.brokkr.broker.transport;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
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

    /**
     * Milliseconds since the kernel last sent data of {@code ch} to its peer (tcp_info's {@code last_data_sent}), or
     * -1: not an epoll socket (the NIO transport), closed, in retransmission (segments resent to a peer that does not
     * acknowledge them are no progress), or the call failed. A client that reads its socket, however slowly, opens
     * its TCP window and the kernel sends more: this sees that while the connection's own buffers, which the kernel
     * empties only in steps of a third of its send buffer, show nothing. Any thread; one system call.
     */
    public static long millisSinceDataSent(Channel ch) {
        if (!EPOLL_SOCKET.equals(ch.getClass().getName()) || !ch.isOpen()) {
            return -1; // checked by name: EpollSocketChannel is not loaded when the broker runs on NIO
        }
        try {
            EpollTcpInfo info = ((EpollSocketChannel) ch).tcpInfo();
            return info.retransmits() == 0 ? info.lastDataSent() : -1;
        } catch (RuntimeException e) {
            return -1; // closed meanwhile
        }
    }

    private static final String EPOLL_SOCKET = "io.netty.channel.epoll.EpollSocketChannel";
}
