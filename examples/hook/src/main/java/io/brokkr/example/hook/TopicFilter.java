package io.brokkr.example.hook;

/** MQTT topic filter matching ({@code +} one level, {@code #} the rest; {@code $} topics only by explicit filters). */
final class TopicFilter {

    private TopicFilter() {
    }

    static boolean matches(String filter, String topic) {
        if (topic.startsWith("$") && (filter.startsWith("#") || filter.startsWith("+"))) {
            return false;
        }
        String[] f = filter.split("/", -1);
        String[] t = topic.split("/", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals("#")) {
                return true;
            }
            if (i >= t.length) {
                return false;
            }
            if (!f[i].equals("+") && !f[i].equals(t[i])) {
                return false;
            }
        }
        return f.length == t.length;
    }
}
