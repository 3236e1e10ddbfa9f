package io.brokkr.example.hook;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.Message;
import io.brokkr.api.intercept.MessageInterceptor;
import io.brokkr.api.storage.RecordFormat;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * An inline hook (it runs on the broker's network thread, so it must be quick and never block): adds the time the
 * broker received a message to JSON object payloads on the configured topics, e.g. {@code {"t":21}} becomes
 * {@code {"t":21,"receivedAt":"2026-11-29T23:59:01.123Z"}}. Payloads that are not a JSON object pass unchanged.
 *
 * <p>Configured by {@code etc/io.brokkr.example.hook.cfg}; edit it and the new values apply at once.
 */
@Component(name = "io.brokkr.example.hook", configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = MessageInterceptor.class)
@Designate(ocd = JsonEnricher.Config.class)
public class JsonEnricher implements MessageInterceptor {

    @ObjectClassDefinition(name = "Brokkr example hook: JSON enrichment")
    public @interface Config {
        @AttributeDefinition(description = "Topic filters whose JSON payloads are enriched, comma separated")
        String topics() default "#";

        @AttributeDefinition(description = "Name of the field added")
        String field() default "receivedAt";

        @AttributeDefinition(description = "iso (ISO-8601 UTC) or millis (epoch milliseconds)")
        String time_format() default "iso";
    }

    private volatile List<String> topics = List.of("#");
    private volatile String field = "receivedAt";
    private volatile boolean millis;

    public JsonEnricher() {
    }

    /** For use without OSGi (tests, an embedded engine). */
    public JsonEnricher(List<String> topics, String field, boolean millis) {
        this.topics = List.copyOf(topics);
        this.field = field;
        this.millis = millis;
    }

    @Activate
    @Modified
    void configure(Config c) {
        topics = RecordFormat.split(c.topics());
        field = c.field();
        millis = "millis".equalsIgnoreCase(c.time_format().trim());
    }

    @Override
    public Message onMessageReceived(ConnectionContext publisher, Message message) {
        if (!matches(message.topic())) {
            return message;
        }
        byte[] p = message.payload();
        if (p.length < 2 || p[0] != '{') {
            return message; // cheap test first: only JSON objects are enriched
        }
        String text = RecordFormat.utf8(p);
        if (text == null) {
            return message;
        }
        Object json;
        try {
            json = RecordFormat.parseJson(text);
        } catch (IllegalArgumentException notJson) {
            return message;
        }
        if (!(json instanceof Map<?, ?> map)) {
            return message;
        }
        Map<Object, Object> out = new LinkedHashMap<>(map);
        out.put(field, millis ? (Object) message.timestamp() : Instant.ofEpochMilli(message.timestamp()).toString());
        return message.withPayload(RecordFormat.toJson(out).getBytes(StandardCharsets.UTF_8));
    }

    private boolean matches(String topic) {
        for (String f : topics) {
            if (TopicFilter.matches(f, topic)) {
                return true;
            }
        }
        return false;
    }
}
