package io.brokkr.broker.it;

import static io.brokkr.broker.it.Packets.bytes;
import static io.brokkr.broker.it.Packets.concat;
import static io.brokkr.broker.it.Packets.frame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties.MqttPropertyType;
import io.netty.handler.codec.mqtt.MqttVersion;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Topic and UTF-8 validation, malformed packets (hand-made bytes), receive maximum: the offending connection is
 * closed with the right reason code and every other client keeps working.
 */
class ValidationTest extends BrokerTestBase {

    @Override
    Map<String, String> config() {
        Map<String, String> m = super.config();
        m.put("receive.maximum", "3");
        return m;
    }

    /** PUBLISH QoS 0 with raw topic bytes. */
    private static byte[] rawPublish(boolean v5, byte[] topic) {
        return frame(0x30, concat(bytes(topic.length >> 8, topic.length & 0xFF), topic, v5 ? bytes(0) : bytes(),
                bytes('x')));
    }

    /** SUBSCRIBE with one raw filter, QoS 0. */
    private static byte[] rawSubscribe(boolean v5, byte[] filter) {
        return frame(0x82, concat(bytes(0, 1), v5 ? bytes(0) : bytes(), bytes(filter.length >> 8,
                filter.length & 0xFF), filter, bytes(0)));
    }

    /** Asserts that a pair of unrelated clients still exchanges messages. */
    private void othersStillWork(String tag) throws Exception {
        RawClient s = v5("ok-s" + tag);
        String t = "ok/" + id(tag);
        s.subscribe(1, t, 1);
        RawClient p = v311("ok-p" + tag);
        p.publish1(t, "still", 1);
        s.expectPublish(t, "still");
    }

    private void assertRefused(boolean v5, byte[] packet, int reasonCode) throws Exception {
        RawClient c = v5 ? v5("bad") : v311("bad");
        c.sendBytes(packet);
        if (v5) {
            assertEquals(reasonCode, c.expectDisconnect(), "reason code");
        } else {
            c.assertClosedWithoutPackets();
        }
    }

    @Test
    void wildcardInPublishTopic() throws Exception {
        assertRefused(true, rawPublish(true, Packets.utf8("a/+")), 0x90);
        assertRefused(true, rawPublish(true, Packets.utf8("a/#")), 0x90);
        assertRefused(false, rawPublish(false, Packets.utf8("a/#")), 0);
        othersStillWork("w");
    }

    @Test
    void invalidUtf8InTopicIsMalformed() throws Exception {
        assertRefused(true, rawPublish(true, bytes('a', 0xC3, 0x28)), 0x81);
        assertRefused(true, rawPublish(true, bytes('a', 0xED, 0xA0, 0x80)), 0x81); // UTF-16 surrogate
        assertRefused(true, rawPublish(true, bytes('a', 0, 'b')), 0x81); // U+0000
        assertRefused(false, rawPublish(false, bytes('a', 0xC3, 0x28)), 0);
        othersStillWork("u");
    }

    @Test
    void invalidUtf8InFilterIsMalformed() throws Exception {
        assertRefused(true, rawSubscribe(true, bytes('a', 0xFF)), 0x81);
        assertRefused(false, rawSubscribe(false, bytes('a', 0xC0, 0xAF)), 0);
        othersStillWork("f");
    }

    @Test
    void invalidUtf8InClientIdIsRefused() throws Exception {
        RawClient c = open();
        c.decodeAs(MqttVersion.MQTT_5);
        c.sendBytes(Packets.rawConnect("MQTT", 5, 0x02, 10, bytes(0), bytes('a', 0xC3, 0x28)));
        MqttConnAckMessage ack = c.expectConnack();
        assertEquals(0x81, RawClient.returnCode(ack));
        assertTrue(c.awaitClosed());

        RawClient v3 = open();
        v3.sendBytes(Packets.rawConnect("MQTT", 4, 0x02, 10, null, bytes('a', 0xED, 0xA0, 0x80)));
        v3.assertClosedWithoutPackets();
    }

    @Test
    void invalidUtf8InUnsubscribeIsMalformed() throws Exception {
        assertRefused(true, frame(0xA2, bytes(0, 1, 0, 0, 2, 'a', 0xFF)), 0x81);
        othersStillWork("un");
    }

    @Test
    void invalidTopicFiltersGetFailureCodes() throws Exception {
        RawClient v5 = v5("s5");
        RawClient v3 = v311("s3");
        int id = 1;
        for (String f : List.of("a/#/b", "a+", "a/b#", "#/a", "")) {
            assertEquals(List.of(0x8F), RawClient.codes(v5.subscribe(id, f, 1)), "v5 filter '" + f + "'");
            assertEquals(List.of(0x80), RawClient.codes(v3.subscribe(id, f, 1)), "3.1.1 filter '" + f + "'");
            id++;
        }
        // the connections stay usable
        assertEquals(List.of(1), RawClient.codes(v5.subscribe(20, "a/+/#", 1)));
        assertEquals(List.of(1), RawClient.codes(v3.subscribe(20, "+", 1)));
    }

    @Test
    void malformedPacketsCloseOnlyTheirConnection() throws Exception {
        RawClient sub = v5("sub");
        String t = "mal/" + id("t");
        sub.subscribe(1, t, 1);
        RawClient pub = v5("pub");
        List<byte[]> garbage = List.of(
                bytes(0x00, 0x00), // reserved packet type 0
                bytes(0x80, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'), // SUBSCRIBE with flags 0000 (must be 0010)
                bytes(0x36, 0x04, 0x00, 0x01, 'a', 0x00), // PUBLISH with QoS 3
                bytes(0x62, 0x02, 0x00), // PUBREL, remaining length 2 but... truncated followed by next:
                bytes(0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F)); // remaining length of five bytes
        int n = 0;
        for (byte[] g : garbage) {
            n++;
            if (g.length == 3) {
                continue; // a truncated packet just waits for more bytes: nothing to assert
            }
            RawClient bad = v5("bad" + n);
            bad.sendBytes(g);
            assertEquals(0x81, bad.expectDisconnect(), "garbage #" + n);
            pub.publish1(t, "after" + n, n);
            sub.acknowledge(sub.expectPublish(t, "after" + n));
        }
        for (byte[] g : garbage) {
            if (g.length == 3) {
                continue;
            }
            RawClient bad = v311("bad3-" + (++n));
            bad.sendBytes(g);
            bad.assertClosedWithoutPackets();
        }
        pub.publish1(t, "end", 99);
        sub.expectPublish(t, "end");
    }

    @Test
    void badSubscriptionOptions() throws Exception {
        byte[] f = Packets.utf8("opt/x");
        byte[] head = bytes(0, f.length);
        // QoS 3
        assertRefused(true, frame(0x82, concat(bytes(0, 1, 0), head, f, bytes(0x03))), 0x81);
        assertRefused(false, frame(0x82, concat(bytes(0, 1), head, f, bytes(0x03))), 0);
        // Retain Handling 3
        assertRefused(true, frame(0x82, concat(bytes(0, 1, 0), head, f, bytes(0x30))), 0x81);
        // 3.1.1: bits 2-7 are reserved
        assertRefused(false, frame(0x82, concat(bytes(0, 1), head, f, bytes(0x05))), 0);
        // reserved bits 6-7 (Netty's decoder drops them; the broker looks at the raw bytes)
        assertRefused(true, frame(0x82, concat(bytes(0, 1, 0), head, f, bytes(0xC1))), 0x81);
        assertRefused(true, frame(0x82, concat(bytes(0, 1, 2, 0x0B, 7), head, f, bytes(0x40))), 0x81);
        assertRefused(false, frame(0x82, concat(bytes(0, 1), head, f, bytes(0x81))), 0);
        othersStillWork("so");
    }

    @Test
    void reservedOptionBitsAreFoundAcrossReadsAndPackets() throws Exception {
        byte[] f = Packets.utf8("opt/y");
        byte[] good = frame(0x82, concat(bytes(0, 1, 0), bytes(0, f.length), f, bytes(0x01)));
        byte[] bad = frame(0x82, concat(bytes(0, 2, 0), bytes(0, f.length), f, bytes(0x01),
                bytes(0, f.length), f, bytes(0x80)));
        // a good SUBSCRIBE dribbled byte by byte, then a good and a bad one in one write
        RawClient c = v5("c");
        for (byte b : good) {
            c.sendBytes(new byte[] {b});
        }
        assertEquals(List.of(1), RawClient.codes((io.netty.handler.codec.mqtt.MqttSubAckMessage)
                c.expect(MqttMessageType.SUBACK)));
        byte[] good2 = good.clone();
        good2[good2.length - 1 - f.length - 2 - 1 - 1] = 3; // packet id 3
        c.sendBytes(concat(good2, bad));
        assertEquals(3, Packets.packetId(c.expect(MqttMessageType.SUBACK)));
        assertEquals(0x81, c.expectDisconnect());
        // big PUBLISH packets split over many reads do not confuse the inspector
        RawClient d = v5("d");
        d.subscribe(1, "opt/big", 0);
        byte[] payload = new byte[100_000];
        d.publish("opt/big", 0, false, 0, payload, null);
        assertEquals(100_000, d.expectPublish().payload().readableBytes());
        assertEquals(List.of(0), RawClient.codes(d.subscribe(2, "opt/z", 0)));
        othersStillWork("so");
    }

    @Test
    void badConnectFlags() throws Exception {
        int[][] flagsAndLevel = {
            {0x02 | 0x08, 4}, {0x02 | 0x08, 5}, // will QoS without will flag
            {0x02 | 0x20, 4}, {0x02 | 0x20, 5}, // will retain without will flag
            {0x02 | 0x40, 4}, // password without user name (3.1.1 only; allowed in 5)
        };
        for (int[] fl : flagsAndLevel) {
            RawClient c = open();
            boolean v5 = fl[1] == 5;
            if (v5) {
                c.decodeAs(MqttVersion.MQTT_5);
            }
            byte[] pw = (fl[0] & 0x40) != 0 ? bytes(0, 2, 'p', 'w') : bytes();
            c.sendBytes(withPayload(Packets.rawConnect("MQTT", fl[1], fl[0], 10, v5 ? bytes(0) : null,
                    Packets.utf8(id("f"))), pw));
            if (v5) {
                MqttConnAckMessage ack = c.expectConnack();
                assertEquals(0x81, RawClient.returnCode(ack),
                        "flags " + Integer.toHexString(fl[0]));
                assertTrue(c.awaitClosed());
            } else {
                c.assertClosedWithoutPackets();
            }
        }
        othersStillWork("cf");
    }

    /** Appends bytes to a packet's payload, fixing the remaining length. */
    private static byte[] withPayload(byte[] packet, byte[] extra) {
        int i = 1;
        int len = 0;
        int mul = 1;
        int b;
        do {
            b = packet[i++] & 0xFF;
            len += (b & 0x7F) * mul;
            mul *= 128;
        } while ((b & 0x80) != 0);
        byte[] body = java.util.Arrays.copyOfRange(packet, i, i + len);
        return frame(packet[0] & 0xFF, concat(body, extra));
    }

    @Test
    void qos0PublishWithDupIsMalformed() throws Exception {
        byte[] t = Packets.utf8("dup/x");
        assertRefused(true, frame(0x38, concat(bytes(0, t.length), t, bytes(0), bytes('x'))), 0x81);
        assertRefused(false, frame(0x38, concat(bytes(0, t.length), t, bytes('x'))), 0);
        othersStillWork("dup");
    }

    @Test
    void errorsInPacketsPipelinedAfterConnectComeAfterConnack() throws Exception {
        byte[] connect = Packets.rawConnect("MQTT", 5, 0x02, 10, bytes(0), Packets.utf8(id("a")));
        RawClient a = open();
        a.decodeAs(MqttVersion.MQTT_5);
        a.sendBytes(concat(connect, bytes(0x00, 0x00)));
        assertEquals(0, RawClient.returnCode(a.expectConnack()));
        assertEquals(0x81, a.expectDisconnect());

        RawClient b = open();
        b.decodeAs(MqttVersion.MQTT_5);
        byte[] connectB = Packets.rawConnect("MQTT", 5, 0x02, 10, bytes(0), Packets.utf8(id("b")));
        b.sendBytes(concat(connectB, connectB));
        assertEquals(0, RawClient.returnCode(b.expectConnack()));
        assertEquals(0x82, b.expectDisconnect());
    }

    @Test
    void subscribeWithoutFiltersIsAProtocolError() throws Exception {
        RawClient c = v5("c");
        c.sendBytes(frame(0x82, bytes(0, 1, 0)));
        int rc = c.expectDisconnect();
        assertTrue(rc == 0x82 || rc == 0x81, "protocol error or malformed: " + rc);
    }

    @Test
    void receiveMaximumExceeded() throws Exception {
        RawClient c = open();
        MqttConnAckMessage ack = c.connack(Packets.connect(MqttVersion.MQTT_5, id("c"), true, 10, null));
        assertEquals(3, Packets.intProp(ack.variableHeader().properties(), MqttPropertyType.RECEIVE_MAXIMUM));
        for (int i = 1; i <= 3; i++) {
            c.publish("rm/" + id("t"), 2, i, "m" + i);
            assertEquals(i, Packets.packetId(c.expect(MqttMessageType.PUBREC)));
        }
        c.publish("rm/" + id("t"), 2, 4, "m4");
        assertEquals(0x93, c.expectDisconnect());
        othersStillWork("rm");
    }

    @Test
    void publishToSysIsRefused() throws Exception {
        RawClient c = v5("c");
        assertEquals(0x87, Packets.reasonCode(c.publish1("$SYS/broker/x", "no", 1)));
    }
}
