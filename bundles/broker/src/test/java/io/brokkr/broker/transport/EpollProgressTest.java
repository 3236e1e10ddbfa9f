package io.brokkr.broker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link EpollSupport#millisSinceDataSent}, the kernel's view of a slow subscriber's progress that the back-pressure
 * safety net relies on (see Session.stalled): a real epoll socket on loopback writing to a plain socket that first
 * reads nothing, then reads. While the peer's receive buffer is full the kernel sends no data (its zero-window
 * probes carry none), so the time grows; as soon as the peer reads, the kernel sends again.
 */
class EpollProgressTest {

    @Test
    void theKernelsLastDataSentFollowsThePeersReading() throws Exception {
        assumeTrue(EpollSupport.available(), "no epoll here");
        EventLoopGroup group = new EpollEventLoopGroup(1);
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        try {
            Channel server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            accepted.complete(ch);
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            try (Socket peer = new Socket()) {
                peer.setReceiveBufferSize(64 * 1024);
                peer.connect(new InetSocketAddress("127.0.0.1",
                        ((InetSocketAddress) server.localAddress()).getPort()), 5_000);
                Channel ch = accepted.get(5, TimeUnit.SECONDS);
                byte[] chunk = new byte[64 * 1024];
                for (int i = 0; i < 128; i++) { // 8 MiB: far more than the kernel buffers of both ends hold
                    ch.write(Unpooled.wrappedBuffer(chunk));
                }
                ch.flush();
                long ms = EpollSupport.millisSinceDataSent(ch);
                assertTrue(ms >= 0 && ms < 500, "just sent, but " + ms + " ms ago");
                Thread.sleep(1_300); // the peer reads nothing: its window is closed
                ms = EpollSupport.millisSinceDataSent(ch);
                assertTrue(ms >= 1_000, "the peer read nothing, yet data was sent " + ms + " ms ago");
                InputStream in = peer.getInputStream();
                byte[] buf = new byte[64 * 1024];
                long read = 0;
                while (read < 512 * 1024) {
                    read += in.read(buf);
                }
                Thread.sleep(50);
                ms = EpollSupport.millisSinceDataSent(ch);
                assertTrue(ms >= 0 && ms < 500, "the peer read " + read + " bytes, yet data was sent " + ms
                        + " ms ago");
                ch.close().sync();
                assertEquals(-1, EpollSupport.millisSinceDataSent(ch), "closed");
            } finally {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        NioSocketChannel nio = new NioSocketChannel();
        try {
            assertEquals(-1, EpollSupport.millisSinceDataSent(nio), "not an epoll socket");
        } finally {
            nio.unsafe().closeForcibly();
        }
    }
}
