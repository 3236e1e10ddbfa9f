package io.brokkr.broker.persistence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.brokkr.api.Message;
import io.brokkr.api.MessageProperties;
import io.brokkr.api.UserProperty;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link JournalCodec#decode(byte[], String)}: the sink thread reads a record's topic to filter it and then decodes
 * the rest without decoding the topic again; the result is the same message as a full decode.
 */
class JournalCodecTopicOnceTest {

    @Test
    void decodingWithTheTopicReadBeforeGivesTheSameMessage() {
        MessageProperties props = new MessageProperties(1, 60L, "text/plain", "replies/x",
                new byte[] {1, 2}, List.of(new UserProperty("k", "v")));
        for (Message m : List.of(
                new Message("plant/7/temp °C", "21.5".getBytes(StandardCharsets.UTF_8), 1, true, props, "dev-7",
                        1_700_000_000_123L),
                new Message("a", new byte[0], 2, false, MessageProperties.NONE, null, 5L))) {
            byte[] body = JournalCodec.encode(m, "alice");
            String topic = JournalCodec.topic(body);
            JournalCodec.Entry once = JournalCodec.decode(body, topic);
            JournalCodec.Entry full = JournalCodec.decode(body);
            assertSame(topic, once.message().topic(), "the topic read before is used, not decoded again");
            assertEquals(full.message().topic(), once.message().topic());
            assertArrayEquals(full.message().payload(), once.message().payload());
            assertEquals(full.message().qos(), once.message().qos());
            assertEquals(full.message().retain(), once.message().retain());
            assertEquals(full.message().publisherId(), once.message().publisherId());
            assertEquals(full.message().timestamp(), once.message().timestamp());
            assertEquals(full.message().properties().userProperties(), once.message().properties().userProperties());
            assertEquals(full.message().properties().contentType(), once.message().properties().contentType());
            assertEquals("alice", once.username());
        }
    }

    @Test
    void aCutRecordIsRefusedAlsoWithTheTopicGiven() {
        byte[] body = JournalCodec.encode(new Message("t/1", new byte[8], 1, false, MessageProperties.NONE, "c", 1L),
                null);
        String topic = JournalCodec.topic(body);
        assertThrows(IllegalArgumentException.class,
                () -> JournalCodec.decode(Arrays.copyOf(body, body.length - 3), topic));
    }
}
