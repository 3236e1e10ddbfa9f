package io.brokkr.broker.protocol;

import static io.brokkr.broker.protocol.ConnectionState.RC_NOT_AUTHORIZED;

import io.brokkr.api.Message;
import io.brokkr.api.ProtocolVersion;
import io.brokkr.api.auth.AuthenticationRequest;
import io.brokkr.api.auth.AuthenticationResult;
import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.session.Session;
import io.brokkr.broker.topic.Topics;
import io.brokkr.broker.transport.ConnectionGuard;
import io.brokkr.broker.transport.PacketInspector;
import io.brokkr.broker.transport.TlsSupport;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.IntegerProperty;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttProperties.StringProperty;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CONNECT of one connection: checks the packet (flags, protocol level, client identifier, keep alive, will, MQTT 5
 * properties), applies the connection guard, takes the user name from a client certificate where the listener says
 * so, runs the authenticators with reads paused, authorizes the will, and hands the result to the engine, which
 * attaches the session and has {@link MqttConnection#connected} send CONNACK. Refusals get the CONNACK code of the
 * client's protocol version. Stateless: what the CONNECT settled is kept in the connection.
 */
final class ConnectNegotiation {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectNegotiation.class);

    private ConnectNegotiation() {
    }

    /** A CONNECT that did not decode: refused with the CONNACK code its protocol level can read, or closed. */
    static void onMalformedConnect(ConnectionState c, Throwable cause) {
        if (cause instanceof MqttUnacceptableProtocolVersionException) {
            PacketInspector inspector = c.channel.pipeline().get(PacketInspector.class);
            Integer level = inspector == null ? null : inspector.connectLevel();
            LOG.info("Connection {}: unsupported protocol version ({}, level {}), refusing", c.remote(),
                    cause.getMessage(), level);
            // Level 5+ clients get the MQTT 5 code 0x84 in an MQTT 5 CONNACK, older ones 0x01 [MQTT-3.1.2-2].
            // The high bit is Mosquitto's bridge flag (0x83, 0x84): such a bridge retries without it on 0x01.
            connAckAndClose(c, level != null && (level & 0x7F) >= 5
                    ? MqttConnectReturnCode.CONNECTION_REFUSED_UNSUPPORTED_PROTOCOL_VERSION
                    : MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION, null);
        } else if (cause instanceof MqttIdentifierRejectedException) {
            LOG.info("Connection {}: client identifier rejected: {}", c.remote(), cause.getMessage());
            connAckAndClose(c, isV5FromAttr(c) ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                    : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED, "client identifier not valid");
        } else if (cause instanceof TooLongFrameException && isV5FromAttr(c)) {
            LOG.info("Connection {}: CONNECT too large: {}", c.remote(), cause.getMessage());
            connAckAndClose(c, MqttConnectReturnCode.CONNECTION_REFUSED_PACKET_TOO_LARGE, "packet too large");
        } else {
            LOG.info("Connection {}: malformed CONNECT ({}), closing", c.remote(), cause.getMessage());
            if (isV5FromAttr(c)) {
                connAckAndClose(c, MqttConnectReturnCode.CONNECTION_REFUSED_MALFORMED_PACKET, cause.getMessage());
            } else {
                c.close();
            }
        }
    }

    /** A malformed CONNECT: MQTT 5 gets CONNACK 0x81, 3.x has no code for it and is closed. */
    static void refuseMalformedConnect(ConnectionState c, String what) {
        if (c.isV5()) {
            refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_MALFORMED_PACKET, what);
        } else {
            LOG.info("Connection {}: malformed CONNECT ({}), closing", c.remote(), what);
            c.state = ConnectionState.State.CLOSED;
            c.close();
        }
    }

    static boolean isV5FromAttr(ConnectionState c) {
        return c.channel.attr(c.MQTT_VERSION_KEY).get() == MqttVersion.MQTT_5;
    }

    static void onConnect(ConnectionState c, MqttConnectMessage msg) {
        MqttConnectVariableHeader vh = msg.variableHeader();
        MqttConnectPayload pl = msg.payload();
        BrokerConfig cfg = c.broker.config();
        try {
            c.version = ProtocolVersion.ofLevel(vh.version());
        } catch (IllegalArgumentException e) {
            connAckAndClose(c, MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION, null);
            return;
        }
        String flagError = null;
        if (!vh.isWillFlag() && (vh.willQos() != 0 || vh.isWillRetain())) {
            flagError = "will QoS or will retain set without the will flag"; // [MQTT-3.1.2-11], [MQTT-3.1.2-13]
        } else if (vh.willQos() > 2) {
            flagError = "will QoS 3"; // [MQTT-3.1.2-12]
        } else if (c.version != ProtocolVersion.MQTT_5 && vh.hasPassword() && !vh.hasUserName()) {
            flagError = "password without user name"; // [MQTT-3.1.2-22] (3.1.1; allowed in MQTT 5)
        }
        if (flagError != null) {
            refuseMalformedConnect(c, flagError);
            return;
        }
        MqttProperties props = vh.properties();
        boolean cleanStart = vh.isCleanSession();
        String id = pl.clientIdentifier();
        boolean assigned = false;

        long expiry;
        if (c.isV5()) {
            Long e = Codec.uintProp(props, MqttPropertyType.SESSION_EXPIRY_INTERVAL);
            expiry = e == null ? 0 : e;
            Integer rm = Codec.intProp(props, MqttPropertyType.RECEIVE_MAXIMUM);
            if (rm != null) {
                if (rm == 0) {
                    refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_PROTOCOL_ERROR, "Receive Maximum of 0");
                    return;
                }
                c.clientReceiveMaximum = rm;
            }
            Long mps = Codec.uintProp(props, MqttPropertyType.MAXIMUM_PACKET_SIZE);
            if (mps != null) {
                if (mps == 0) {
                    refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_PROTOCOL_ERROR, "Maximum Packet Size of 0");
                    return;
                }
                c.clientMaximumPacketSize = mps;
            }
            Integer tam = Codec.intProp(props, MqttPropertyType.TOPIC_ALIAS_MAXIMUM);
            c.clientTopicAliasMaximum = tam == null ? 0 : tam;
            String authMethod = Codec.stringProp(props, MqttPropertyType.AUTHENTICATION_METHOD);
            if (authMethod != null) {
                refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_BAD_AUTHENTICATION_METHOD,
                        "authentication method '" + authMethod + "' not supported");
                return;
            }
        } else {
            expiry = cleanStart ? 0 : BrokerConfig.NEVER_EXPIRE;
        }
        c.connectSessionExpiryZero = expiry == 0;
        long cappedExpiry = Math.min(expiry, cfg.sessionExpiryMax());

        if (ConnectionState.decodedFromInvalidUtf8(id) || ConnectionState.decodedFromInvalidUtf8(pl.userName())
                || (vh.isWillFlag() && ConnectionState.decodedFromInvalidUtf8(pl.willTopic()))) {
            refuseMalformedConnect(c, "string is not valid UTF-8");
            return;
        }
        if (id == null || id.isEmpty()) {
            if (!c.isV5() && !cleanStart) {
                // [MQTT-3.1.3-8]
                refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED,
                        "empty client id requires clean session");
                return;
            }
            id = "brokkr-" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
            assigned = true;
        }
        if (!assigned && id.length() > cfg.maxClientIdLength()) {
            refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                    : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED, "client identifier not valid");
            return;
        }
        c.clientId = id;
        java.net.InetAddress address = c.clientAddress();
        ConnectionGuard.Verdict verdict = c.broker.guard().admit(address, id);
        if (verdict != ConnectionGuard.Verdict.ADMIT) {
            switch (verdict) {
                case DENIED_ADDRESS -> refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_BANNED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "address not allowed");
                case BANNED -> refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_BANNED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "banned");
                case RATE_EXCEEDED -> refuse(c, c.isV5()
                        ? MqttConnectReturnCode.CONNECTION_REFUSED_CONNECTION_RATE_EXCEEDED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE, "connection rate exceeded");
                default -> refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                        : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED,
                        "client identifier not allowed (clientid.prefixes)");
            }
            return;
        }

        int keepAlive = vh.keepAliveTimeSeconds();
        Integer serverKeepAlive = null;
        if (cfg.keepAliveMax() > 0) {
            if (c.isV5()) {
                if (keepAlive == 0 || keepAlive > cfg.keepAliveMax()) {
                    keepAlive = cfg.keepAliveMax();
                }
                serverKeepAlive = keepAlive;
            } else if (keepAlive > cfg.keepAliveMax()) {
                // no way to tell a 3.x client to ping more often: refuse like Mosquitto's max_keepalive does
                refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED,
                        "keep alive " + keepAlive + " s exceeds keepalive.max " + cfg.keepAliveMax() + " s");
                return;
            }
        }

        Message will = null;
        long willDelay = 0;
        if (vh.isWillFlag()) {
            String wt = pl.willTopic();
            String err = Topics.validateTopicName(wt);
            if (err == null && wt.startsWith("$SYS")) {
                err = "$SYS topics are reserved";
            }
            if (err != null) {
                refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_TOPIC_NAME_INVALID
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "will topic: " + err);
                return;
            }
            if (vh.willQos() > cfg.maxQos()) {
                refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_QOS_NOT_SUPPORTED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "will QoS not supported");
                return;
            }
            if (vh.isWillRetain() && !cfg.retainAvailable()) {
                refuse(c, c.isV5() ? MqttConnectReturnCode.CONNECTION_REFUSED_RETAIN_NOT_SUPPORTED
                        : MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED, "retain not supported");
                return;
            }
            byte[] wp = pl.willMessageInBytes() == null ? new byte[0] : pl.willMessageInBytes();
            MqttProperties wprops = c.isV5() ? pl.willProperties() : null;
            will = Codec.will(id, wt, wp, vh.willQos(), vh.isWillRetain(), wprops);
            if (Integer.valueOf(1).equals(will.properties().payloadFormatIndicator()) && !Codec.isValidUtf8(wp)) {
                refuse(c, MqttConnectReturnCode.CONNECTION_REFUSED_PAYLOAD_FORMAT_INVALID, "will payload not UTF-8");
                return;
            }
            Long wd = c.isV5() ? Codec.uintProp(wprops, MqttPropertyType.WILL_DELAY_INTERVAL) : null;
            willDelay = wd == null ? 0 : wd;
        }

        String username = pl.userName();
        boolean certified = false;
        TlsSupport.Identity identityMode = TlsSupport.identityMode(c.listener.config());
        if (identityMode != TlsSupport.Identity.NONE) {
            // like Mosquitto's use_identity_as_username: the verified client certificate names the user, whatever
            // user name the CONNECT carries, and such a client counts as authenticated
            String identity = TlsSupport.identity(c.channel, identityMode);
            if (identity == null) {
                refuse(c, mapRefusal(c, RC_NOT_AUTHORIZED), "no client certificate with a "
                        + (identityMode == TlsSupport.Identity.CN ? "CN" : "DNS or e-mail subject alternative name")
                        + " (identity.from.certificate = "
                        + identityMode.name().toLowerCase(java.util.Locale.ROOT) + ")");
                return;
            }
            username = identity;
            certified = true;
        }

        c.state = ConnectionState.State.CONNECTING;
        c.channel.config().setAutoRead(false);
        final String finalId = id;
        final boolean finalAssigned = assigned;
        final int finalKeepAlive = keepAlive;
        final Integer finalServerKeepAlive = serverKeepAlive;
        final Message finalWill = will;
        final long finalWillDelay = willDelay;
        final long sessionExpiry = cappedExpiry;
        final boolean expiryCapped = cappedExpiry != expiry;
        BrokerConnectionContext ctx = new BrokerConnectionContext(c.listener.config(), c.channel, c.version, id,
                username);
        c.context = ctx;
        AuthenticationRequest req = new AuthenticationRequest(pl.passwordInBytes(), null, null,
                Codec.userProps(props));
        c.broker.authenticate(ctx, req, certified).whenComplete((res, err) -> c.channel.eventLoop().execute(() -> {
            if (c.state != ConnectionState.State.CONNECTING) {
                return;
            }
            AuthenticationResult r = res;
            if (err != null) {
                LOG.warn("Client {}: authentication failed with an error: {}", finalId, err.toString());
                r = AuthenticationResult.deny(AuthenticationResult.SERVER_UNAVAILABLE, "authentication unavailable");
            }
            if (r.decision() != AuthenticationResult.Decision.ALLOW) {
                int rc = r.reasonCode() == 0 ? AuthenticationResult.NOT_AUTHORIZED : r.reasonCode();
                LOG.info("Client {} from {}: connection refused (0x{}): {}", finalId, c.remote(),
                        Integer.toHexString(rc), r.reason());
                java.time.Duration delay = rc == AuthenticationResult.BAD_USERNAME_OR_PASSWORD
                        || rc == AuthenticationResult.NOT_AUTHORIZED
                        ? c.broker.guard().loginFailed(address) : java.time.Duration.ZERO;
                if (delay.isZero()) {
                    connAckAndClose(c, mapRefusal(c, rc), r.reason());
                } else {
                    // a refused login after many: answered late, so that guessing passwords is slow (the network
                    // thread does not wait; the connection reads nothing meanwhile)
                    String reason = r.reason();
                    c.channel.eventLoop().schedule(() -> connAckAndClose(c, mapRefusal(c, rc), reason),
                            delay.toMillis(),
                            TimeUnit.MILLISECONDS);
                }
                return;
            }
            c.broker.guard().loginSucceeded(address);
            ctx.principal(r.principal());
            long acceptedAt = System.currentTimeMillis();
            if (finalWill != null
                    && !c.broker.authorizePublish(ctx, finalWill.topic(), finalWill.qos(), finalWill.retain())) {
                // the will is published later on the client's behalf: it is authorized now, as the client that set
                // it, so that a will cannot reach a topic its client may not publish to
                LOG.info("Client {} from {}: connection refused: not authorized to publish its will to '{}'",
                        finalId, c.remote(), finalWill.topic());
                connAckAndClose(c, mapRefusal(c, RC_NOT_AUTHORIZED), "not authorized to publish the will");
                return;
            }
            c.cleanStart = cleanStart;
            // [MQTT-3.1.2-22] one and a half times the keep alive period (at most 65,535 s: fits)
            c.keepAliveMillis = finalKeepAlive * 1500;
            c.connectedAt = acceptedAt; // last: publishes the above to info()
            ConnectionHost.ConnectParams p = new ConnectionHost.ConnectParams(cleanStart, sessionExpiry, expiryCapped,
                    finalAssigned, finalServerKeepAlive, finalWill, finalWillDelay);
            c.broker.connect(c, p);
        }));
    }

    static MqttConnectReturnCode mapRefusal(ConnectionState c, int rc) {
        if (c.isV5()) {
            return MqttConnectReturnCode.valueOf((byte) rc);
        }
        return switch (rc) {
            case 0x86 -> MqttConnectReturnCode.CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD;
            case 0x88, 0x89 -> MqttConnectReturnCode.CONNECTION_REFUSED_SERVER_UNAVAILABLE;
            case 0x85 -> MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED;
            default -> MqttConnectReturnCode.CONNECTION_REFUSED_NOT_AUTHORIZED;
        };
    }

    static void refuse(ConnectionState c, MqttConnectReturnCode code, String reason) {
        if (c.clientId == null) { // refused before its client identifier was read
            LOG.info("Connection {}: connection refused ({}): {}", c.remote(), code, reason);
        } else {
            LOG.info("Client {} from {}: connection refused ({}): {}", c.clientId, c.remote(), code, reason);
        }
        connAckAndClose(c, code, reason);
    }

    static void connAckAndClose(ConnectionState c, MqttConnectReturnCode code, String reason) {
        c.state = ConnectionState.State.CLOSED;
        MqttProperties props = MqttProperties.NO_PROPERTIES;
        if (code == MqttConnectReturnCode.CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION) {
            // the 3.1.1 format is the one every client level can read
            c.channel.attr(c.MQTT_VERSION_KEY).set(MqttVersion.MQTT_3_1_1);
        } else if (code == MqttConnectReturnCode.CONNECTION_REFUSED_UNSUPPORTED_PROTOCOL_VERSION) {
            c.channel.attr(c.MQTT_VERSION_KEY).set(MqttVersion.MQTT_5);
        } else if (isV5FromAttr(c) && reason != null) {
            props = new MqttProperties();
            props.add(new StringProperty(MqttPropertyType.REASON_STRING.value(), reason));
        }
        MqttConnAckMessage ack = new MqttConnAckMessage(
                new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttConnAckVariableHeader(code, false, props));
        c.broker.counters().messagesSent.increment();
        c.send(ack, true, c.channel.newPromise()).addListener(ChannelFutureListener.CLOSE);
    }

    /** Runs on the session loop (after {@link MqttConnection#link}): send CONNACK. */
    static void connected(ConnectionState c, Session s, boolean sessionPresent, ConnectionHost.ConnectParams p) {
        c.cancelConnectDeadline();
        if (c.keepAliveMillis > 0) {
            // armed here, on the loop the channel stays on, so its timer runs there
            c.lastReadNanos = System.nanoTime();
            io.netty.channel.EventLoop loop = c.channel.eventLoop();
            if (loop.inEventLoop()) {
                c.armKeepAlive();
            } else {
                loop.execute(c::armKeepAlive);
            }
        }
        MqttProperties props = MqttProperties.NO_PROPERTIES;
        BrokerConfig cfg = c.broker.config();
        if (c.isV5()) {
            props = new MqttProperties();
            if (p.expiryCapped()) {
                props.add(new IntegerProperty(MqttPropertyType.SESSION_EXPIRY_INTERVAL.value(),
                        (int) p.sessionExpiry()));
            }
            if (cfg.receiveMaximum() != 65_535) {
                props.add(new IntegerProperty(MqttPropertyType.RECEIVE_MAXIMUM.value(), cfg.receiveMaximum()));
            }
            if (cfg.maxQos() < 2) {
                props.add(new IntegerProperty(MqttPropertyType.MAXIMUM_QOS.value(), cfg.maxQos()));
            }
            if (!cfg.retainAvailable()) {
                props.add(new IntegerProperty(MqttPropertyType.RETAIN_AVAILABLE.value(), 0));
            }
            props.add(new IntegerProperty(MqttPropertyType.MAXIMUM_PACKET_SIZE.value(), cfg.maxPacketSize()));
            if (p.assignedId()) {
                props.add(new StringProperty(MqttPropertyType.ASSIGNED_CLIENT_IDENTIFIER.value(), c.clientId));
            }
            props.add(new IntegerProperty(MqttPropertyType.TOPIC_ALIAS_MAXIMUM.value(), cfg.topicAliasMaximum()));
            if (p.serverKeepAlive() != null) {
                props.add(new IntegerProperty(MqttPropertyType.SERVER_KEEP_ALIVE.value(), p.serverKeepAlive()));
            }
        }
        MqttConnAckMessage ack = new MqttConnAckMessage(
                new MqttFixedHeader(MqttMessageType.CONNACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttConnAckVariableHeader(MqttConnectReturnCode.CONNECTION_ACCEPTED, sessionPresent, props));
        c.write(ack, false);
        c.channel.eventLoop().execute(c::afterConnack);
    }
}
