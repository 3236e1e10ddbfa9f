package io.brokkr.auth.rules;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer.Decision;

/**
 * One compiled rule.
 *
 * @param name        its name, unique in a rules file (compared ignoring case)
 * @param priority    its priority number (lower is evaluated first), {@link #DEFAULT_PRIORITY} without
 *                    {@code WITH PRIORITY}
 * @param prioritized whether {@code WITH PRIORITY} was given
 * @param actions     {@link #PUBLISH} and/or {@link #SUBSCRIBE}
 * @param filters     the {@code TO TOPIC} filters; empty: every topic
 * @param condition   the {@code IF} condition, or null (always true)
 * @param then        the decision when the condition holds
 * @param otherwise   the {@code ELSE} decision, or null: then a false condition goes on to the next rule
 * @param text        the rule on one line, as written (its tokens separated by single spaces, comments left out)
 * @param line        the line of its {@code DEFINE} in the source
 * @param start       the offset of its {@code DEFINE} in the source
 * @param end         the offset after its last token (or its {@code ;}) in the source
 */
public record Rule(String name, int priority, boolean prioritized, int actions, TopicPattern[] filters,
        Condition condition, Decision then, Decision otherwise, String text, int line, int start, int end) {

    public static final int PUBLISH = 1;
    public static final int SUBSCRIBE = 2;
    public static final int DEFAULT_PRIORITY = Integer.MAX_VALUE;

    /**
     * This rule's decision for a publish to, or a subscription to, {@code topic.substring(from)}; null if the rule
     * does not apply or its condition is false without {@code ELSE}.
     */
    Decision decide(int action, ConnectionContext c, String topic, int from) {
        if ((actions & action) == 0 || !topicApplies(c, topic, from)) {
            return null;
        }
        if (condition == null || condition.test(c)) {
            return then;
        }
        return otherwise;
    }

    private boolean topicApplies(ConnectionContext c, String topic, int from) {
        if (filters.length == 0) {
            return true;
        }
        String user = c.username();
        String client = c.clientId();
        for (TopicPattern f : filters) {
            if (f.covers(topic, from, user, client)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return text;
    }
}
