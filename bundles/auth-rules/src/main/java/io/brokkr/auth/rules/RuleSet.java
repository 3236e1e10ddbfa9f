package io.brokkr.auth.rules;

import io.brokkr.api.ConnectionContext;
import io.brokkr.api.auth.Authorizer.Decision;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The rules of one file in evaluation order: ascending priority number, rules of equal priority in the order they
 * are defined. Immutable; the authorizer swaps a whole set when the file changes.
 */
public final class RuleSet {

    public static final RuleSet EMPTY = new RuleSet(List.of());

    private final Rule[] ordered;
    private final List<Rule> defined;

    /** @param defined the rules in definition order */
    public RuleSet(List<Rule> defined) {
        this.defined = List.copyOf(defined);
        // a stable sort: equal priorities stay in definition order
        this.ordered = defined.stream().sorted(Comparator.comparingInt(Rule::priority)).toArray(Rule[]::new);
    }

    /** The rules in evaluation order. */
    public List<Rule> ordered() {
        return Arrays.asList(ordered.clone());
    }

    /** The rules in definition (file) order. */
    public List<Rule> defined() {
        return defined;
    }

    public int size() {
        return ordered.length;
    }

    /** The decision of the first rule that decides a publish to {@code topic}, or null if none does. */
    public Decision publish(ConnectionContext c, String topic) {
        return decide(Rule.PUBLISH, c, topic, 0);
    }

    /**
     * The decision of the first rule that decides a subscription to {@code filter}, or null if none does. For a
     * shared subscription ({@code $share/group/f}) the rules are asked about {@code f}.
     */
    public Decision subscribe(ConnectionContext c, String filter) {
        return decide(Rule.SUBSCRIBE, c, filter, sharedFilterStart(filter));
    }

    private Decision decide(int action, ConnectionContext c, String topic, int from) {
        for (Rule r : ordered) {
            Decision d = r.decide(action, c, topic, from);
            if (d != null) {
                return d;
            }
        }
        return null;
    }

    /** Where the filter of {@code $share/group/filter} starts; 0 for a filter that is not shared. */
    static int sharedFilterStart(String filter) {
        if (filter.startsWith("$share/")) {
            int slash = filter.indexOf('/', 7);
            if (slash > 0) {
                return slash + 1;
            }
        }
        return 0;
    }
}
