package io.brokkr.shell.command;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.brokkr.api.BrokerService;
import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Service
@Command(scope = "mqtt", name = "publish",
        description = "Publishes a message from inside the broker, as if a client had published it")
public class PublishCommand implements Action {

    @Reference
    BrokerService broker;

    @Option(name = "-q", aliases = "--qos", description = "QoS 0, 1 or 2 (default 0)")
    int qos;

    @Option(name = "-r", aliases = "--retain", description = "Set the RETAIN flag (an empty retained payload clears the retained message)")
    boolean retain;

    @Option(name = "-u", aliases = "--user-property", multiValued = true,
            description = "MQTT 5 user property as key=value (repeatable)")
    List<String> userProperties;

    @Option(name = "--content-type", description = "MQTT 5 content type, e.g. application/json")
    String contentType;

    @Option(name = "--response-topic", description = "MQTT 5 response topic")
    String responseTopic;

    @Option(name = "-e", aliases = "--expiry", description = "MQTT 5 message expiry interval in seconds")
    Long expiry;

    @Option(name = "-x", aliases = "--hex", description = "The payload argument is hex (e.g. 0x00ff10), not UTF-8 text")
    boolean hex;

    @Argument(index = 0, name = "topic", required = true, description = "Topic name (no wildcards)")
    String topic;

    @Argument(index = 1, name = "payload", description = "Payload (UTF-8 text, or hex with --hex); empty if omitted")
    String payload = "";

    @Override
    public Object execute() throws Exception {
        if (qos < 0 || qos > 2) {
            throw Formats.error("invalid QoS " + qos + ": must be 0, 1 or 2");
        }
        if (expiry != null && (expiry < 0 || expiry > 0xFFFFFFFFL)) {
            throw Formats.error("invalid message expiry " + expiry + ": must be between 0 and 4294967295 seconds");
        }
        List<UserProperty> props = new ArrayList<>();
        if (userProperties != null) {
            for (String kv : userProperties) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw Formats.error("invalid user property '" + kv + "': expected key=value");
                }
                props.add(new UserProperty(kv.substring(0, eq), kv.substring(eq + 1)));
            }
        }
        byte[] bytes;
        if (hex) {
            try {
                bytes = Formats.parseHex(payload);
            } catch (IllegalArgumentException e) {
                throw Formats.error("invalid hex payload '" + payload + "': " + e.getMessage());
            }
        } else {
            bytes = payload.getBytes(StandardCharsets.UTF_8);
        }
        MessageProperties properties = new MessageProperties(null, expiry, contentType, responseTopic, null, props);
        Message message = new Message(topic, bytes, qos, retain, properties, null, System.currentTimeMillis());
        int delivered;
        try {
            delivered = broker.publish(message);
        } catch (IllegalArgumentException e) {
            // the broker validates the topic name, response topic and QoS and says which is wrong
            throw Formats.error("cannot publish: " + e.getMessage());
        }
        System.out.println("Published " + bytes.length + " bytes to '" + topic + "' (QoS " + qos
                + (retain ? ", retained" : "") + "): delivered to " + delivered
                + (delivered == 1 ? " subscription" : " subscriptions"));
        return null;
    }
}
