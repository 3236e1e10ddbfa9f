package io.brokkr.broker.protocol;

import static io.brokkr.broker.protocol.ConnectionState.RC_MALFORMED;
import static io.brokkr.broker.protocol.ConnectionState.RC_NO_SUBSCRIPTION_EXISTED;
import static io.brokkr.broker.protocol.ConnectionState.RC_TOPIC_FILTER_INVALID;

import io.brokkr.broker.topic.Topics;
import io.brokkr.broker.transport.PacketInspector;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnsubAckMessage;
import io.netty.handler.codec.mqtt.MqttUnsubAckPayload;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SUBSCRIBE and UNSUBSCRIBE of one connection: checks the packet, lets the engine validate, authorize and store each
 * filter on the session loop, answers SUBACK / UNSUBACK and starts the retained messages. Stateless: the state is
 * the connection's and its session's.
 */
final class SubscribeHandling {

    private static final Logger LOG = LoggerFactory.getLogger(SubscribeHandling.class);

    private SubscribeHandling() {
    }

    static void onSubscribe(ConnectionState c, MqttSubscribeMessage msg) {
        c.subscribeCount++;
        int packetId = msg.idAndPropertiesVariableHeader().messageId();
        MqttProperties props = msg.idAndPropertiesVariableHeader().properties();
        List<MqttTopicSubscription> topics = msg.payload().topicSubscriptions();
        int subId = 0;
        if (c.isV5()) {
            if (props.getProperties(MqttPropertyType.SUBSCRIPTION_IDENTIFIER.value()).size() > 1) {
                // Netty keeps them all (getProperty returns the first): MQTT 5.0, 3.8.2.1.2
                c.protocolError("Subscription Identifier more than once in SUBSCRIBE");
                return;
            }
            Integer id = Codec.intProp(props, MqttPropertyType.SUBSCRIPTION_IDENTIFIER);
            if (id != null) {
                if (id == 0) {
                    c.protocolError("subscription identifier 0");
                    return;
                }
                subId = id;
            }
        }
        if (topics.isEmpty()) {
            c.protocolError("SUBSCRIBE without topic filters"); // [MQTT-3.8.3-2]
            return;
        }
        PacketInspector inspector = c.channel.pipeline().get(PacketInspector.class);
        if (inspector != null && inspector.badSubscribe() == c.subscribeCount) {
            c.disconnect(RC_MALFORMED, "reserved bits set in subscription options"); // [MQTT-3.8.3-5]
            return;
        }
        List<ConnectionHost.SubscribeRequest> subs = new ArrayList<>(topics.size());
        for (MqttTopicSubscription t : topics) {
            String f = t.topicFilter();
            if (ConnectionState.decodedFromInvalidUtf8(f)) {
                c.disconnect(RC_MALFORMED, "malformed topic filter");
                return;
            }
            if (!c.isV5() && (t.option().isNoLocal() || t.option().isRetainAsPublished()
                    || t.option().retainHandling().value() != 0)) {
                c.disconnect(RC_MALFORMED, "reserved bits set in the requested QoS byte"); // [MQTT-3.8.3-4] (3.1.1)
                return;
            }
            if (c.isV5() && t.option().isNoLocal() && Topics.isShared(f)) {
                c.protocolError("no local on a shared subscription"); // [MQTT-3.8.3-4]
                return;
            }
            subs.add(new ConnectionHost.SubscribeRequest(f, t.qualityOfService().value(), t.option().isNoLocal(),
                    t.option().isRetainAsPublished(), t.option().retainHandling().value()));
        }
        int finalSubId = subId;
        c.onSession(s -> {
            ConnectionHost.SubscribeResult r = c.broker.subscribe(s, c, subs, finalSubId);
            List<Integer> codes = r.codes();
            MqttSubAckMessage ack = new MqttSubAckMessage(
                    new MqttFixedHeader(MqttMessageType.SUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                    new MqttMessageIdAndPropertiesVariableHeader(packetId, MqttProperties.NO_PROPERTIES),
                    new MqttSubAckPayload(codes));
            c.write(ack, false);
            c.broker.sendRetainedAfterSubscribe(s, r);
            s.scheduleFlush();
        });
    }

    static void onUnsubscribe(ConnectionState c, MqttUnsubscribeMessage msg) {
        int packetId = msg.idAndPropertiesVariableHeader().messageId();
        List<String> filters = new ArrayList<>(msg.payload().topics());
        if (filters.isEmpty()) {
            c.protocolError("UNSUBSCRIBE without topic filters");
            return;
        }
        for (String f : filters) {
            if (ConnectionState.decodedFromInvalidUtf8(f)) {
                c.disconnect(RC_MALFORMED, "malformed topic filter");
                return;
            }
        }
        c.onSession(s -> {
            List<Short> codes = new ArrayList<>(filters.size());
            for (String f : filters) {
                if (Topics.validateTopicFilter(f) != null) {
                    codes.add((short) RC_TOPIC_FILTER_INVALID);
                    continue;
                }
                boolean existed = c.broker.unsubscribe(s, f);
                codes.add((short) (existed ? 0 : RC_NO_SUBSCRIPTION_EXISTED));
            }
            MqttUnsubAckMessage ack = new MqttUnsubAckMessage(
                    new MqttFixedHeader(MqttMessageType.UNSUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                    new MqttMessageIdAndPropertiesVariableHeader(packetId, MqttProperties.NO_PROPERTIES),
                    c.isV5() ? new MqttUnsubAckPayload(codes) : null);
            c.write(ack, false);
            s.scheduleFlush();
        });
    }
}
