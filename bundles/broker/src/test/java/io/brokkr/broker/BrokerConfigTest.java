package io.brokkr.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.brokkr.broker.config.BrokerConfig;
import io.brokkr.broker.config.ListenerConfig;
import io.brokkr.broker.config.QueueFullPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class BrokerConfigTest {

    @Test
    void missingKeysTakeTheirDefaults() {
        BrokerConfig c = BrokerConfig.fromProperties(Map.of("max.qos", "1", "allow.anonymous", " FALSE "));
        assertEquals(1, c.maxQos());
        assertFalse(c.allowAnonymous());
        assertEquals(60, c.keepAliveMax());
        assertEquals(BrokerConfig.NEVER_EXPIRE, c.sessionExpiryMax());
    }

    @Test
    void strictParsingNamesEveryBadKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BrokerConfig.fromProperties(Map.of("max.qos", "3", "queue.qos0", "yes")));
        assertTrue(e.getMessage().contains("max.qos: 3 is outside [0, 2]"), e.getMessage());
        assertTrue(e.getMessage().contains("queue.qos0: 'yes' is not true or false"), e.getMessage());
    }

    @Test
    void aBadValueKeepsTheRunningValueAndDoesNotTouchOtherKeys() {
        BrokerConfig running = BrokerConfig.defaults().maxQos(1).allowAnonymous(false);
        List<String> errors = new ArrayList<>();
        BrokerConfig c = BrokerConfig.fromProperties(
                Map.of("max.qos", "3", "allow.anonymous", "false", "keepalive.max", "abc", "sys.interval", "5"),
                running, errors);
        assertEquals(1, c.maxQos());            // bad: kept
        assertEquals(60, c.keepAliveMax());     // bad: kept
        assertFalse(c.allowAnonymous());        // good: applied
        assertEquals(5, c.sysInterval());       // good: applied
        assertEquals(List.of("keepalive.max: 'abc' is not a number", "max.qos: 3 is outside [0, 2]"),
                errors.stream().sorted().toList());
    }

    @Test
    void queueFullPolicyByClientIdPrefixThenListenerThenBroker() {
        BrokerConfig c = BrokerConfig.fromProperties(Map.of("queue.full.policy", "Throttle",
                "queue.full.policy.drop.clients", " debug- , sensor-slow-",
                "queue.full.policy.throttle.clients", "sensor-"));
        assertEquals(QueueFullPolicy.THROTTLE, c.queueFullPolicy());
        assertEquals(QueueFullPolicy.DROP, c.queueFullPolicyOf("debug-1", QueueFullPolicy.AUTO));
        assertEquals(QueueFullPolicy.THROTTLE, c.queueFullPolicyOf("sensor-1", QueueFullPolicy.DROP));
        assertEquals(QueueFullPolicy.DROP, c.queueFullPolicyOf("sensor-slow-1", null), "longest prefix wins");
        assertEquals(QueueFullPolicy.AUTO, c.queueFullPolicyOf("other", QueueFullPolicy.AUTO), "listener");
        assertEquals(QueueFullPolicy.THROTTLE, c.queueFullPolicyOf("other", null), "broker");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BrokerConfig.fromProperties(Map.of("queue.full.policy", "sometimes")));
        assertTrue(e.getMessage().contains("queue.full.policy: 'sometimes' is not one of auto, throttle, drop"),
                e.getMessage());
        assertEquals(QueueFullPolicy.DROP, ListenerConfig.fromProperties(
                Map.of("port", "0", "queue.full.policy", "drop"), "l").queueFullPolicy());
        assertThrows(IllegalArgumentException.class, () -> ListenerConfig.fromProperties(
                Map.of("port", "0", "queue.full.policy", "x"), "l"));
    }
}
