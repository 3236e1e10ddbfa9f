package io.brokkr.api;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * MQTT 5 publication properties that the broker forwards unchanged to subscribers
 * (apart from the expiry interval, which is reduced by the time the message waited).
 *
 * @param payloadFormatIndicator  null if absent, 0 (unspecified bytes) or 1 (UTF-8)
 * @param messageExpiryInterval   seconds, or null if the message does not expire
 * @param contentType             MIME type, or null
 * @param responseTopic           response topic, or null
 * @param correlationData         correlation data, or null
 * @param userProperties          user properties in order (never null)
 */
public record MessageProperties(Integer payloadFormatIndicator, Long messageExpiryInterval, String contentType,
                                String responseTopic, byte[] correlationData, List<UserProperty> userProperties) {

    public static final MessageProperties NONE = new MessageProperties(null, null, null, null, null, List.of());

    public MessageProperties {
        userProperties = userProperties == null ? List.of() : List.copyOf(userProperties);
    }

    public boolean isEmpty() {
        return payloadFormatIndicator == null && messageExpiryInterval == null && contentType == null
                && responseTopic == null && correlationData == null && userProperties.isEmpty();
    }

    public MessageProperties withMessageExpiryInterval(Long seconds) {
        return new MessageProperties(payloadFormatIndicator, seconds, contentType, responseTopic, correlationData,
                userProperties);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MessageProperties p && Objects.equals(payloadFormatIndicator, p.payloadFormatIndicator)
                && Objects.equals(messageExpiryInterval, p.messageExpiryInterval)
                && Objects.equals(contentType, p.contentType) && Objects.equals(responseTopic, p.responseTopic)
                && Arrays.equals(correlationData, p.correlationData) && userProperties.equals(p.userProperties);
    }

    @Override
    public int hashCode() {
        return Objects.hash(payloadFormatIndicator, messageExpiryInterval, contentType, responseTopic,
                Arrays.hashCode(correlationData), userProperties);
    }
}
