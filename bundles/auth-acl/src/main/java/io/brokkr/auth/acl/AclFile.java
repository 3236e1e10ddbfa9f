package io.brokkr.auth.acl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A Mosquitto ACL file ({@code acl_file} of mosquitto.conf), as Mosquitto 2.0 reads it:
 * <pre>
 * # comment
 * topic read public/#            (before the first user line: clients without a user name)
 * user alice
 * topic readwrite alice/#        (the access word is optional: no word = readwrite)
 * topic deny alice/secret        (deny lines win over the grants)
 * pattern write sensor/%u/data   (pattern lines apply to every client, %c = client id, %u = user name)
 * </pre>
 * A line is a keyword, an optional access word ({@code read}, {@code write}, {@code readwrite}, {@code deny}) and the
 * rest of the line as the topic (spaces in it are kept; blanks around it are not). As in Mosquitto, a line with one
 * word after the keyword has that word as its topic ({@code topic read} grants readwrite on the topic "read"), a
 * {@code user} line takes the rest of the line as the name, and repeated {@code user} sections of one name add up.
 * More lenient than Mosquitto: comment lines may be indented, and tabs separate words like spaces.
 */
public final class AclFile {

    /** What a line gives. */
    public enum Access {
        READ, WRITE, READWRITE, DENY;

        boolean reads() {
            return this == READ || this == READWRITE;
        }

        boolean writes() {
            return this == WRITE || this == READWRITE;
        }
    }

    /** A {@code topic} or {@code pattern} line. {@code line} is its number in the file, for messages. */
    public record Rule(Access access, String topic, boolean pattern, int line) {
        @Override
        public String toString() {
            return (pattern ? "pattern " : "topic ") + access.name().toLowerCase() + " " + topic + " (line " + line
                    + ")";
        }
    }

    /** A line the file cannot be read with: its number and the reason. */
    public static final class ParseException extends Exception {
        private final int line;

        ParseException(int line, String reason) {
            super("line " + line + ": " + reason);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    private static final Pattern BLANKS = Pattern.compile("[ \\t]+");

    /** The rules of the anonymous section (lines before the first {@code user} line, without patterns). */
    public final List<Rule> anonymous;
    /** Rules per user name (without patterns). */
    public final Map<String, List<Rule>> users;
    /** Every {@code pattern} line, wherever it is in the file. */
    public final List<Rule> patterns;

    private AclFile(List<Rule> anonymous, Map<String, List<Rule>> users, List<Rule> patterns) {
        this.anonymous = anonymous;
        this.users = users;
        this.patterns = patterns;
    }

    /** An ACL that grants nothing (the state before a file was read). */
    public static AclFile empty() {
        return new AclFile(List.of(), Map.of(), List.of());
    }

    public static AclFile read(Path file) throws IOException, ParseException {
        return parse(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    public static AclFile parse(String text) throws ParseException {
        return parse(text.lines().toList());
    }

    public static AclFile parse(List<String> lines) throws ParseException {
        List<Rule> anonymous = new ArrayList<>();
        Map<String, List<Rule>> users = new LinkedHashMap<>();
        List<Rule> patterns = new ArrayList<>();
        List<Rule> current = anonymous;
        int n = 0;
        for (String raw : lines) {
            n++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] kw = BLANKS.split(line, 2);
            String rest = kw.length > 1 ? kw[1].strip() : "";
            switch (kw[0]) {
                case "user" -> {
                    if (rest.isEmpty()) {
                        throw new ParseException(n, "missing user name");
                    }
                    current = users.computeIfAbsent(rest, u -> new ArrayList<>());
                }
                case "topic", "pattern" -> {
                    boolean pattern = kw[0].equals("pattern");
                    if (rest.isEmpty()) {
                        throw new ParseException(n, "empty topic");
                    }
                    String[] w = BLANKS.split(rest, 2);
                    Access access;
                    String topic;
                    if (w.length == 1) {
                        access = Access.READWRITE;
                        topic = w[0];
                    } else {
                        topic = w[1].strip();
                        access = switch (w[0]) {
                            case "read" -> Access.READ;
                            case "write" -> Access.WRITE;
                            case "readwrite" -> Access.READWRITE;
                            case "deny" -> Access.DENY;
                            default -> throw new ParseException(n, "invalid access type '" + w[0]
                                    + "' (read, write, readwrite or deny)");
                        };
                    }
                    String bad = TopicFilters.invalidFilter(topic);
                    if (bad != null) {
                        throw new ParseException(n, "invalid topic '" + topic + "': " + bad);
                    }
                    Rule r = new Rule(access, topic, pattern, n);
                    (pattern ? patterns : current).add(r);
                }
                default -> throw new ParseException(n, "unknown keyword '" + kw[0] + "' (topic, pattern or user)");
            }
        }
        Map<String, List<Rule>> u = new LinkedHashMap<>();
        users.forEach((k, v) -> u.put(k, List.copyOf(v)));
        return new AclFile(List.copyOf(anonymous), Collections.unmodifiableMap(u), List.copyOf(patterns));
    }

    /** The answer of the file on one request. */
    public enum Verdict {
        /** A grant covers it and no deny line concerns it. */
        GRANTED,
        /** A deny line concerns it. */
        DENIED,
        /** No line grants it (Mosquitto: denied). */
        UNMATCHED
    }

    /**
     * May the client publish to {@code topic} (also a will at CONNECT)? A deny line matching the topic denies; else
     * a write or readwrite line matching it grants.
     *
     * @param user     the user name of the CONNECT, null for none (the anonymous section)
     * @param clientId the client identifier
     */
    public Verdict publish(String user, String clientId, String topic) {
        List<Rule> rules = rulesOf(user, clientId);
        for (Rule r : rules) {
            if (r.access() == Access.DENY && TopicFilters.matches(r.topic(), topic)) {
                return Verdict.DENIED;
            }
        }
        for (Rule r : rules) {
            if (r.access().writes() && TopicFilters.matches(r.topic(), topic)) {
                return Verdict.GRANTED;
            }
        }
        return Verdict.UNMATCHED;
    }

    /**
     * May the client subscribe to {@code filter}? Only if every topic the filter can match may be read: a read or
     * readwrite line covers the filter ({@link TopicFilters#covers}) and no deny line shares a topic with it
     * ({@link TopicFilters#intersects}; such a line denies). A shared subscription {@code $share/<group>/<filter>}
     * is decided on its {@code <filter>}.
     */
    public Verdict subscribe(String user, String clientId, String filter) {
        if (filter.startsWith("$share/")) {
            int slash = filter.indexOf('/', "$share/".length());
            if (slash > 0) {
                filter = filter.substring(slash + 1);
            }
        }
        List<Rule> rules = rulesOf(user, clientId);
        for (Rule r : rules) {
            if (r.access() == Access.DENY && TopicFilters.intersects(r.topic(), filter)) {
                return Verdict.DENIED;
            }
        }
        for (Rule r : rules) {
            if (r.access().reads() && TopicFilters.covers(r.topic(), filter)) {
                return Verdict.GRANTED;
            }
        }
        return Verdict.UNMATCHED;
    }

    /**
     * The topic lines of the client's section (the anonymous one without a user name) and the patterns with
     * {@code %c} and {@code %u} substituted. A pattern with {@code %u} does not apply to a client without a user
     * name (as in Mosquitto). A client id or user name containing {@code +}, {@code #} or {@code /} is never
     * substituted, so that it cannot widen a grant ({@code +} or {@code #} would be wildcards, {@code /} would reach
     * other levels): a grant pattern that needs it grants nothing, and a deny pattern that needs it denies every
     * topic from that level down ({@code a/%c/x} becomes {@code a/#}), so that it cannot narrow a deny either.
     */
    List<Rule> rulesOf(String user, String clientId) {
        List<Rule> section = user == null ? anonymous : users.getOrDefault(user, List.of());
        if (patterns.isEmpty()) {
            return section;
        }
        List<Rule> out = new ArrayList<>(section.size() + patterns.size());
        out.addAll(section);
        for (Rule p : patterns) {
            String t = p.topic();
            if (t.indexOf('%') < 0) {
                out.add(p);
                continue;
            }
            if (user == null && t.contains("%u")) {
                continue;
            }
            String[] levels = TopicFilters.levels(t);
            StringBuilder b = new StringBuilder(t.length() + 16);
            boolean skip = false;
            for (int i = 0; i < levels.length; i++) {
                String l = levels[i];
                if (i > 0) {
                    b.append('/');
                }
                boolean c = l.contains("%c");
                boolean u = l.contains("%u");
                if ((c && unsafe(clientId)) || (u && unsafe(user))) {
                    if (p.access() == Access.DENY) {
                        b.append('#');
                        break;
                    }
                    skip = true;
                    break;
                }
                b.append(c || u ? substitute(l, clientId, user) : l);
            }
            if (!skip) {
                out.add(new Rule(p.access(), b.toString(), true, p.line()));
            }
        }
        return out;
    }

    private static boolean unsafe(String value) {
        return value == null || value.indexOf('+') >= 0 || value.indexOf('#') >= 0 || value.indexOf('/') >= 0;
    }

    /** {@code %c} and {@code %u} replaced in one pass (a client id containing "%u" stays as it is). */
    private static String substitute(String level, String clientId, String user) {
        StringBuilder b = new StringBuilder(level.length() + 16);
        for (int i = 0; i < level.length(); i++) {
            char ch = level.charAt(i);
            if (ch == '%' && i + 1 < level.length() && (level.charAt(i + 1) == 'c' || level.charAt(i + 1) == 'u')) {
                b.append(level.charAt(i + 1) == 'c' ? clientId : user);
                i++;
            } else {
                b.append(ch);
            }
        }
        return b.toString();
    }

    /** Lines in force: topic lines of every section plus the patterns. */
    public int size() {
        return anonymous.size() + patterns.size() + users.values().stream().mapToInt(List::size).sum();
    }
}
