package io.brokkr.broker.protocol;

import static io.brokkr.broker.protocol.ConnectionState.RC_MALFORMED;
import static io.brokkr.broker.protocol.ConnectionState.RC_NOT_AUTHORIZED;
import static io.brokkr.broker.protocol.ConnectionState.RC_PACKET_ID_NOT_FOUND;
import static io.brokkr.broker.protocol.ConnectionState.RC_PAYLOAD_FORMAT_INVALID;
import static io.brokkr.broker.protocol.ConnectionState.RC_PROTOCOL_ERROR;
import static io.brokkr.broker.protocol.ConnectionState.RC_QOS_NOT_SUPPORTED;
import static io.brokkr.broker.protocol.ConnectionState.RC_RECEIVE_MAXIMUM_EXCEEDED;
import static io.brokkr.broker.protocol.ConnectionState.RC_RETAIN_NOT_SUPPORTED;
import static io.brokkr.broker.protocol.ConnectionState.RC_TOPIC_ALIAS_INVALID;
import static io.brokkr.broker.protocol.ConnectionState.RC_TOPIC_NAME_INVALID;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.protocol.ConnectionState.PendingAck;
import io.brokkr.broker.routing.RouteResult;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.topic.Topics;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;
import java.util.HashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PUBLISH from the client and its acknowledgements: checks the packet (QoS, retain, topic alias, UTF-8, Receive
 * Maximum), authorizes it, routes it on the session loop and answers PUBACK / PUBREC once the routing is complete
 * (every target took the message or refused it), in the order the PUBLISHes came [MQTT-4.6.0-2]; PUBREL ends an
 * inbound QoS 2 flow. Stateless: the pending acknowledgements are the connection's, the QoS 2 flows the session's.
 */
final class InboundPublish {

    private static final Logger LOG = LoggerFactory.getLogger(InboundPublish.class);

    private InboundPublish() {
    }

    static void onPublish(ConnectionState c, MqttPublishMessage msg) {
        MqttPublishVariableHeader vh = msg.variableHeader();
        int qos = msg.fixedHeader().qosLevel().value();
        if (qos == 0 && msg.fixedHeader().isDup()) {
            c.disconnect(RC_MALFORMED, "DUP set on a QoS 0 PUBLISH"); // [MQTT-3.3.1-2]
            return;
        }
        boolean retain = msg.fixedHeader().isRetain();
        int packetId = vh.packetId();
        ByteBuf buf = msg.payload();
        byte[] payload = new byte[buf.readableBytes()];
        buf.getBytes(buf.readerIndex(), payload);
        c.broker.counters().publishReceived.increment();
        String topic = vh.topicName();
        MqttProperties props = vh.properties();
        c.onSession(s -> handlePublish(c, s, topic, payload, qos, retain, packetId, props));
    }

    private static void handlePublish(ConnectionState c, Session s, String topic, byte[] payload, int qos,
                                      boolean retain, int packetId, MqttProperties props) {
        BrokerConfig cfg = c.broker.config();
        if (qos > cfg.maxQos()) {
            c.disconnect(RC_QOS_NOT_SUPPORTED, "QoS " + qos + " not supported");
            return;
        }
        if (retain && !cfg.retainAvailable()) {
            c.disconnect(RC_RETAIN_NOT_SUPPORTED, "retain not supported");
            return;
        }
        if (c.isV5()) {
            if (Codec.intProp(props, MqttPropertyType.SUBSCRIPTION_IDENTIFIER) != null) {
                c.protocolError("Subscription Identifier in a PUBLISH from a client"); // [MQTT-3.3.4-6]
                return;
            }
            Integer alias = Codec.intProp(props, MqttPropertyType.TOPIC_ALIAS);
            if (alias != null) {
                if (alias == 0 || alias > cfg.topicAliasMaximum()) {
                    c.disconnect(RC_TOPIC_ALIAS_INVALID, "topic alias " + alias + " invalid");
                    return;
                }
                if (topic.isEmpty()) {
                    topic = c.inboundAliases == null ? null : c.inboundAliases.get(alias);
                    if (topic == null) {
                        c.disconnect(RC_PROTOCOL_ERROR, "unknown topic alias " + alias);
                        return;
                    }
                } else {
                    if (c.inboundAliases == null) {
                        c.inboundAliases = new HashMap<>();
                    }
                    c.inboundAliases.put(alias, topic);
                }
            }
        }
        if (ConnectionState.decodedFromInvalidUtf8(topic)) {
            LOG.info("Client {}: topic name is not valid UTF-8 or contains U+0000", c.clientId);
            c.disconnect(RC_MALFORMED, "topic name is not valid UTF-8"); // [MQTT-1.5.4-1], [MQTT-1.5.4-2]
            return;
        }
        String err = Topics.validateTopicName(topic);
        if (err != null) {
            LOG.info("Client {}: invalid topic name '{}': {}", c.clientId, topic, err);
            if (topic.isEmpty()) {
                c.disconnect(RC_PROTOCOL_ERROR, "empty topic name without topic alias");
            } else {
                c.disconnect(RC_TOPIC_NAME_INVALID, "invalid topic name: " + err);
            }
            return;
        }
        if (qos == 2 && s.inboundQos2Open(packetId)) {
            // duplicate of a message already received: acknowledge again, do not route [MQTT-4.3.3-10]
            ackPublish(c, s, qos, packetId, 0);
            return;
        }
        // Receive Maximum counts the QoS 1 and QoS 2 PUBLISHes not answered with PUBACK or PUBCOMP [MQTT-3.3.4-7]:
        // the open QoS 2 flows and the QoS 1 PUBLISHes whose PUBACK waits for routing are the count, and a QoS 1
        // or 2 PUBLISH arriving while Receive Maximum of them are open is one too many (section 4.9). 3.x has no
        // Receive Maximum: there, only the open QoS 2 flows (state the broker keeps) are bounded.
        if (qos > 0 && (qos == 2 || c.isV5()) && s.inboundQos2Count() + c.pendingQos1Acks >= cfg.receiveMaximum()) {
            c.disconnect(RC_RECEIVE_MAXIMUM_EXCEEDED, "receive maximum exceeded");
            return;
        }
        MessageProperties mp = c.isV5() ? Codec.messageProperties(props) : MessageProperties.NONE;
        if (Integer.valueOf(1).equals(mp.payloadFormatIndicator()) && !Codec.isValidUtf8(payload)) {
            LOG.info("Client {}: payload on '{}' is not valid UTF-8 despite payload format indicator 1", c.clientId,
                    topic);
            ackPublish(c, s, qos, packetId, RC_PAYLOAD_FORMAT_INVALID);
            return;
        }
        Message message = new Message(topic, payload, qos, retain, mp, c.clientId, System.currentTimeMillis());
        if (topic.startsWith("$SYS") || !c.broker.authorizePublish(c.context, topic, qos, retain)) {
            LOG.info("Client {}: not authorized to publish to '{}'", c.clientId, topic);
            ackPublish(c, s, qos, packetId, RC_NOT_AUTHORIZED);
            return;
        }
        if (qos == 2) {
            s.openInboundQos2(packetId); // a duplicate arriving while this one is routed is recognised
        }
        RouteResult routed = c.broker.publish(c.context, message, c);
        if (qos > 0) {
            ackPublish(c, s, qos, packetId, 0, routed);
        }
    }

    private static void ackPublish(ConnectionState c, Session s, int qos, int packetId, int rc) {
        ackPublish(c, s, qos, packetId, rc, null);
    }

    /**
     * Acknowledges an inbound QoS 1/2 PUBLISH once it is safe: when {@code routed} is done (every target took the
     * message or refused it), with its reason code, else with {@code rc}. Runs on the session loop.
     */
    private static void ackPublish(ConnectionState c, Session s, int qos, int packetId, int rc, RouteResult routed) {
        if (qos == 0) {
            return;
        }
        boolean ready = routed == null || routed.isDone();
        if (ready && (c.pendingAcks == null || c.pendingAcks.isEmpty())) {
            writeAck(c, s, qos, packetId, routed == null ? rc : routed.reasonCode(),
                    routed != null && routed.storeFailed());
            return;
        }
        if (c.pendingAcks == null) {
            c.pendingAcks = new java.util.ArrayDeque<>();
        }
        c.pendingAcks.add(new PendingAck(qos, packetId, rc, routed));
        if (qos == 1) {
            c.pendingQos1Acks++;
        }
        if (!ready) {
            routed.whenDone(ackListener(c, s));
        }
    }

    /**
     * The connection's listener for its routings (one object per connection and session, not one per message: a
     * {@link RouteResult} only needs to know whom to tell).
     */
    private static Runnable ackListener(ConnectionState c, Session s) {
        Runnable l = c.ackListener;
        if (l == null || c.ackListenerSession != s) {
            l = () -> ackWhenReady(c, s);
            c.ackListener = l;
            c.ackListenerSession = s;
        }
        return l;
    }

    /**
     * A routing completed (on any thread): the session loop writes the acknowledgements that are ready. On the session
     * loop at once, or, while the loop runs a batch of journal completions ({@link #runCollectingAcks}), once at the
     * end of that batch; from another thread in a task on the session loop. At most one write is pending per
     * connection (the flag); it is cleared before the write looks, so a routing completed after that asks again.
     */
    private static void ackWhenReady(ConnectionState c, Session s) {
        if (s.loop.inEventLoop()) {
            AckCollector collector = ACKS.get();
            if (collector.on) {
                if (ConnectionState.ACK_TASK.compareAndSet(c, 0, 1)) {
                    collector.connections.add(c);
                    collector.sessions.add(s);
                }
                return;
            }
            writeReadyAcks(c, s);
        } else if (ConnectionState.ACK_TASK.compareAndSet(c, 0, 1)) {
            s.loop.execute(() -> {
                ConnectionState.ACK_TASK.set(c, 0);
                writeReadyAcks(c, s);
            });
        }
    }

    /** Per I/O thread: the connections whose acknowledgements a batch of journal completions made ready. */
    private static final class AckCollector {
        boolean on;
        final ArrayList<ConnectionState> connections = new ArrayList<>();
        final ArrayList<Session> sessions = new ArrayList<>();
    }

    private static final FastThreadLocal<AckCollector> ACKS = new FastThreadLocal<>() {
        @Override
        protected AckCollector initialValue() {
            return new AckCollector();
        }
    };

    /**
     * Runs {@code completions} (the journal telling the routings of a batch of this loop's messages that they are on
     * disk) and then writes the acknowledgements they made ready, once per connection: one buffer and one write for
     * all of a connection's acknowledgements of the batch, and no task per connection. Event loop.
     */
    static void runCollectingAcks(Runnable completions) {
        AckCollector collector = ACKS.get();
        if (collector.on) {
            completions.run(); // nested: the outer call writes them
            return;
        }
        collector.on = true;
        try {
            completions.run();
        } finally {
            collector.on = false;
            ArrayList<ConnectionState> cs = collector.connections;
            ArrayList<Session> ss = collector.sessions;
            for (int i = 0; i < cs.size(); i++) {
                ConnectionState c = cs.get(i);
                ConnectionState.ACK_TASK.set(c, 0);
                try {
                    writeReadyAcks(c, ss.get(i));
                } catch (RuntimeException e) {
                    LOG.warn("Client {}: writing acknowledgements failed", c.clientId, e);
                }
            }
            cs.clear();
            ss.clear();
        }
    }

    /**
     * Writes the acknowledgements at the head of {@link ConnectionState#pendingAcks} whose routing is done. Session
     * loop. The plain ones (success, or any 3.1.1 acknowledgement of a stored message: a PUBACK or PUBREC of remaining
     * length 2, the form MQTT 5 allows for 0x00 Success without properties [MQTT-3.4.2-1]) of a run are encoded by hand
     * into one buffer, written once: the completions of a journal batch arrive here together, and one encoder pass,
     * buffer and outbound entry per acknowledgement were most of what handing them back cost. Any other one is
     * written as before, after the buffer, so the order stays the PUBLISHes' [MQTT-4.6.0-2].
     */
    private static void writeReadyAcks(ConnectionState c, Session s) {
        if (s.connection != c) {
            return; // this connection is gone: its client resends unacknowledged messages on its next connection
        }
        ByteBuf plain = null;
        int plainCount = 0;
        PendingAck a;
        while ((a = c.pendingAcks.peek()) != null && a.ready()) {
            c.pendingAcks.poll();
            if (a.qos() == 1) {
                c.pendingQos1Acks--;
            }
            RouteResult r = a.routed();
            int rc = r == null ? a.rc() : r.reasonCode();
            boolean storeFailed = r != null && r.storeFailed();
            if (!storeFailed && (rc == 0 || !c.isV5())) {
                if (plain == null) {
                    plain = c.channel.alloc().ioBuffer(4 * (c.pendingAcks.size() + 1));
                }
                plain.writeByte(a.qos() == 1 ? 0x40 : 0x50).writeByte(2).writeShort(a.packetId());
                plainCount++;
                continue;
            }
            if (plain != null) {
                writePlainAcks(c, plain, plainCount);
                plain = null;
                plainCount = 0;
            }
            writeAck(c, s, a.qos(), a.packetId(), rc, storeFailed);
        }
        if (plain != null) {
            writePlainAcks(c, plain, plainCount);
            s.scheduleFlush();
        }
    }

    /** Writes {@code count} PUBACK/PUBREC packets encoded into {@code acks} by {@link #writeReadyAcks} (no flush). */
    private static void writePlainAcks(ConnectionState c, ByteBuf acks, int count) {
        c.broker.counters().messagesSent.add(count);
        c.send(acks, false, c.channel.voidPromise());
    }

    /** @param storeFailed the sinks' journal did not take the message (failed or full): see {@link RouteResult} */
    private static void writeAck(ConnectionState c, Session s, int qos, int packetId, int rc, boolean storeFailed) {
        if (storeFailed && !c.isV5()) {
            // 3.1.1 cannot refuse a PUBLISH: close without acknowledging, so that the client sends it again
            if (rc == RouteResult.RC_QUOTA_EXCEEDED) {
                // the journal logs that it is full (at most every 10 s); every refused publisher would flood the log
                LOG.debug("Client {}: message {} refused, the sinks' journal is full; closing the connection "
                        + "unacknowledged", c.clientId, packetId);
            } else {
                LOG.warn("Client {}: message {} could not be stored for the sinks; closing the connection "
                        + "unacknowledged", c.clientId, packetId);
            }
            if (qos == 2) {
                s.closeInboundQos2(packetId); // its resend is a new message, not a duplicate
            }
            c.channel.close();
            return;
        }
        if (!c.isV5()) {
            rc = 0; // 3.1.1 has no negative acknowledgement: the message is acknowledged and dropped
        }
        if (qos == 2 && rc >= 0x80) {
            s.closeInboundQos2(packetId); // the flow ends here: a PUBLISH with this id is a new message
        }
        OutboundPublish.writePubReply(c, qos == 1 ? MqttMessageType.PUBACK : MqttMessageType.PUBREC, packetId, rc);
        s.scheduleFlush();
    }

    static void onPubRel(ConnectionState c, Session s, int packetId) {
        boolean known = s.closeInboundQos2(packetId);
        int rc = known || !c.isV5() ? 0 : RC_PACKET_ID_NOT_FOUND;
        OutboundPublish.writePubReply(c, MqttMessageType.PUBCOMP, packetId, rc);
        s.scheduleFlush();
    }
}
