package io.brokkr.broker.testing;

import java.nio.charset.StandardCharsets;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;

/**
 * One CONNECT with Paho and what the broker answered: 0 if accepted (the client then disconnects), else the CONNACK
 * reason code (MQTT 5) or return code (MQTT 3.1.1). Shared by the authentication tests of the broker and of the
 * provider bundles through the broker's test-jar.
 */
public final class Connects {

    private Connects() {
    }

    /** MQTT 5; a null user name or password is left out of the CONNECT. */
    public static int v5(String uri, String clientId, String user, String password, int timeoutSeconds)
            throws Exception {
        MqttClient c = new MqttClient(uri, clientId, new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setConnectionTimeout(timeoutSeconds);
        if (user != null) {
            o.setUserName(user);
        }
        if (password != null) {
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        }
        try {
            c.connect(o);
            c.disconnect();
            return 0;
        } catch (MqttException e) {
            return e.getReasonCode();
        } finally {
            c.close();
        }
    }

    /** MQTT 3.1.1; a null user name or password is left out of the CONNECT. */
    public static int v311(String uri, String clientId, String user, String password, int timeoutSeconds)
            throws Exception {
        var c = new org.eclipse.paho.client.mqttv3.MqttClient(uri, clientId,
                new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setConnectionTimeout(timeoutSeconds);
        if (user != null) {
            o.setUserName(user);
        }
        if (password != null) {
            o.setPassword(password.toCharArray());
        }
        try {
            c.connect(o);
            c.disconnect();
            return 0;
        } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
            return e.getReasonCode();
        } finally {
            c.close();
        }
    }
}
