package io.brokkr.shell.command;

import java.nio.charset.StandardCharsets;

/**
 * Validation of topic names and filters typed at the shell, so that bad input is reported with a precise reason
 * before the broker is called (MQTT 5.0 section 4.7).
 */
final class Topics {

    private static final int MAX_BYTES = 65535;

    private Topics() {
    }

    /** @return null if {@code topic} is a valid topic name, otherwise the reason */
    static String topicNameError(String topic) {
        if (topic == null || topic.isEmpty()) {
            return "empty topic name";
        }
        if (topic.indexOf('+') >= 0 || topic.indexOf('#') >= 0) {
            return "wildcard in topic name";
        }
        return commonError(topic);
    }

    /** @return null if {@code filter} is a valid topic filter (optionally $share/group/...), otherwise the reason */
    static String topicFilterError(String filter) {
        if (filter == null || filter.isEmpty()) {
            return "empty topic filter";
        }
        String common = commonError(filter);
        if (common != null) {
            return common;
        }
        String f = filter;
        if (f.startsWith("$share/")) {
            int slash = f.indexOf('/', 7);
            if (slash < 0 || slash == 7) {
                return "shared subscription needs $share/<group>/<filter>";
            }
            String group = f.substring(7, slash);
            if (group.indexOf('+') >= 0 || group.indexOf('#') >= 0) {
                return "wildcard in share group name";
            }
            f = f.substring(slash + 1);
            if (f.isEmpty()) {
                return "empty topic filter after share group";
            }
        }
        String[] levels = f.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.indexOf('#') >= 0) {
                if (!level.equals("#")) {
                    return "'#' must occupy a whole topic level";
                }
                if (i != levels.length - 1) {
                    return "'#' must be the last topic level";
                }
            }
            if (level.indexOf('+') >= 0 && !level.equals("+")) {
                return "'+' must occupy a whole topic level";
            }
        }
        return null;
    }

    private static String commonError(String s) {
        if (s.indexOf('\u0000') >= 0) {
            return "null character in topic";
        }
        if (s.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return "topic longer than " + MAX_BYTES + " bytes";
        }
        return null;
    }
}
