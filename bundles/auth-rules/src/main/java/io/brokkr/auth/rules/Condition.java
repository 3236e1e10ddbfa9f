package io.brokkr.auth.rules;

import io.brokkr.api.ConnectionContext;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The compiled {@code IF} part of a rule. Every test is decided from the {@link ConnectionContext} with no
 * allocation on the calling (network) thread: regular expressions are compiled once, when the rule is parsed, and
 * each thread reuses its own {@link Matcher}; the client address is parsed once per connection ({@link Cidr#of}).
 */
interface Condition {

    boolean test(ConnectionContext c);

    /** {@code USER IS "x"} and {@code USER IN ("a", "b")}: the user name of the CONNECT is one of them. */
    record UserIn(Set<String> names) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            String u = c.username();
            return u != null && names.contains(u);
        }
    }

    /** {@code ROLE IS "r"} and {@code ROLE IN (...)}: the principal has one of the roles. */
    record RoleIn(String[] roles) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            for (String r : roles) {
                if (c.hasRole(r)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** {@code CLIENTID IS "x"} and {@code CLIENTID IN (...)}. */
    record ClientIdIn(Set<String> ids) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            String id = c.clientId();
            return id != null && ids.contains(id);
        }
    }

    /** {@code CLIENTID STARTS WITH "p"}. */
    record ClientIdStartsWith(String prefix) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            String id = c.clientId();
            return id != null && id.startsWith(prefix);
        }
    }

    /** {@code CLIENTID MATCHES "regex"}: the whole client id matches (as {@link Matcher#matches()}). */
    final class ClientIdMatches implements Condition {
        private final Pattern pattern;
        private final ThreadLocal<Matcher> matcher;

        ClientIdMatches(Pattern pattern) {
            this.pattern = pattern;
            this.matcher = ThreadLocal.withInitial(() -> pattern.matcher(""));
        }

        Pattern pattern() {
            return pattern;
        }

        @Override
        public boolean test(ConnectionContext c) {
            String id = c.clientId();
            if (id == null) {
                return false;
            }
            Matcher m = matcher.get();
            boolean r = m.reset(id).matches();
            m.reset(""); // do not keep the client id alive
            return r;
        }
    }

    /** {@code LISTENER IS "name"} and {@code LISTENER IN (...)}: the name of the listener the client came through. */
    record ListenerIn(Set<String> names) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            String l = c.listenerName();
            return l != null && names.contains(l);
        }
    }

    /** {@code ADDRESS IN "cidr"}, {@code ADDRESS IN ("cidr", ...)}, {@code ADDRESS IS "ip"}. */
    record AddressIn(Cidr[] blocks) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            Cidr.Address a = Cidr.of(c);
            for (Cidr b : blocks) {
                if (b.contains(a)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** {@code ANONYMOUS}: the CONNECT had no user name and no authenticator gave the connection a principal. */
    record Anonymous() implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            return c.username() == null && c.principal() == null;
        }
    }

    record Not(Condition inner) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            return !inner.test(c);
        }
    }

    record And(Condition[] all) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            for (Condition x : all) {
                if (!x.test(c)) {
                    return false;
                }
            }
            return true;
        }
    }

    record Or(Condition[] any) implements Condition {
        @Override
        public boolean test(ConnectionContext c) {
            for (Condition x : any) {
                if (x.test(c)) {
                    return true;
                }
            }
            return false;
        }
    }
}
