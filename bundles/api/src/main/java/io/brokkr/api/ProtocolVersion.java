package io.brokkr.api;

/** MQTT protocol versions spoken by the broker. */
public enum ProtocolVersion {
    MQTT_3_1(3, "3.1"),
    MQTT_3_1_1(4, "3.1.1"),
    MQTT_5(5, "5.0");

    private final int level;
    private final String label;

    ProtocolVersion(int level, String label) {
        this.level = level;
        this.label = label;
    }

    /** The protocol level byte of the CONNECT packet (3, 4 or 5). */
    public int level() {
        return level;
    }

    public String label() {
        return label;
    }

    public static ProtocolVersion ofLevel(int level) {
        for (ProtocolVersion v : values()) {
            if (v.level == level) {
                return v;
            }
        }
        throw new IllegalArgumentException("Unsupported MQTT protocol level " + level);
    }
}
