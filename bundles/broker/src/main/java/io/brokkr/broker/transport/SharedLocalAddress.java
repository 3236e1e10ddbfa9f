package io.brokkr.broker.transport;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets the connections of one listener share one object for their local address. Netty's epoll channel reads the
 * local address of each accepted connection from the kernel into objects of its own (an {@code InetSocketAddress},
 * its holder, an {@code Inet4Address} and its holder: 96 bytes for as long as the connection is open), although all
 * connections of a listener bound to one address have the same one. The objects are immutable, so an equal one does
 * the same job: {@link #share} puts the listener's first such address in place of the new connection's own, before
 * anything else asks the channel for it.
 * <p>
 * Netty keeps that address in a private field ({@code AbstractEpollChannel.local}), reached here by reflection. If a
 * later Netty has no such field, or the transport is NIO (which reads the address only when asked), nothing is
 * changed: each connection keeps its own copy, and {@code IdleMemoryTest} fails on the 96 bytes.
 */
final class SharedLocalAddress {

    private static final Logger LOG = LoggerFactory.getLogger(SharedLocalAddress.class);
    /** Netty's field, or null if it is not there (see the class comment). */
    private static final Field LOCAL = find();

    /** The address the listener's connections share; replaced when a connection arrives on another one. */
    private volatile SocketAddress shared;

    /** Gives {@code ch} the shared object for its local address if its own is equal to it. Channel loop. */
    void share(Channel ch) {
        Field f = LOCAL;
        if (f == null || !f.getDeclaringClass().isInstance(ch)) {
            return;
        }
        try {
            Object own = f.get(ch);
            SocketAddress s = shared;
            if (s != null && s != own && s.equals(own)) {
                f.set(ch, s);
            } else if (s == null || !s.equals(own)) {
                // the first connection, or one on another local address of a wildcard listener: the latest is kept
                shared = own instanceof SocketAddress a ? a : null;
            }
        } catch (IllegalAccessException | RuntimeException e) {
            LOG.debug("Cannot share the local address of {}: {}", ch, e.toString());
        }
    }

    private static Field find() {
        try {
            for (Class<?> c = EpollSocketChannel.class; c != null; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (f.getName().equals("local") && f.getType() == SocketAddress.class
                            && !Modifier.isStatic(f.getModifiers()) && !Modifier.isFinal(f.getModifiers())) {
                        f.setAccessible(true);
                        return f;
                    }
                }
            }
            LOG.debug("Netty's epoll channel has no local address field: each connection keeps its own");
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("Netty's epoll channel's local address field is not accessible: {}", e.toString());
        }
        return null;
    }
}
