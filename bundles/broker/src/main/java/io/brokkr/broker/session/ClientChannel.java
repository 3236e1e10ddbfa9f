package io.brokkr.broker.session;

import io.brokkr.api.ClientInfo;
import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.broker.config.QueueFullPolicy;
import io.netty.channel.Channel;

/**
 * What a {@link Session} (and the engine, through {@link Session#connection}) calls on the network connection the
 * session is attached to; implemented by the protocol's connection handler, so that a session never names it.
 * Writes run on the session's loop; the methods marked "any thread" may be called from elsewhere.
 */
public interface ClientChannel {

    ProtocolVersion protocolVersion();

    /** The queue.full.policy of this connection's listener, or null. */
    QueueFullPolicy listenerQueueFullPolicy();

    /** The extensions' view of this connection; null before CONNECT. */
    ConnectionContext context();

    ClientInfo info();

    Channel channel();

    /** The peer's address, for logs. */
    String remote();

    /** Outbound inflight window: min(server max.inflight, client Receive Maximum). */
    int inflightWindow();

    /** The socket takes more without buffering beyond the high water mark. Any thread. */
    boolean isWritable();

    /** Bytes written to the channel and not yet to the socket. Any thread. */
    long pendingWriteBytes();

    /**
     * Milliseconds since the kernel last sent data of this connection to the client, or -1 when not known (see
     * {@code EpollSupport.millisSinceDataSent}). Any thread; a system call.
     */
    long millisSinceDataSent();

    /**
     * Writes a PUBLISH (no flush).
     *
     * @return false if the packet exceeds the client's Maximum Packet Size and was not sent
     */
    boolean writePublish(Delivery d, int packetId, boolean dup);

    void writePubRel(int packetId, int rc);

    /** True when {@link #writeRetainedQos0} may be used (MQTT 3.1/3.1.1: no properties, aliases or size limit). */
    boolean rawRetainedQos0();

    /** Appends a retained QoS 0 PUBLISH to a batch that {@link #endRetainedBatch()} writes (no flush). */
    void writeRetainedQos0(Message m);

    /** Writes what {@link #writeRetainedQos0} encoded (no flush). */
    void endRetainedBatch();

    void flush();

    /** Reads again after a publisher was paused by back-pressure. Any thread. */
    void resumeReading();

    /** Sends DISCONNECT with a reason code (MQTT 5 only) and closes. Any thread. */
    void disconnect(int reasonCode, String reason);

    /** The session was taken over by a new connection: this one closes without publishing the will. */
    void takenOver();

    /**
     * Ends the tie to the session; true for exactly one caller per attached connection, who then reports its end.
     * Any thread.
     */
    boolean release();
}
