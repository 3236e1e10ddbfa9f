package io.brokkr.auth.rules;

import io.brokkr.api.auth.Authorizer.Decision;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Parses the rule language (the grammar is in README.md, "Rules") by recursive descent over tokens read one at a
 * time, so that the first error in the text is the one reported, with its line and column (both from 1) and what
 * was expected and found instead. Keywords are case-insensitive; rule names are identifiers that are not keywords,
 * unique in a text ignoring case.
 */
public final class RuleParser {

    static final Set<String> KEYWORDS = Set.of("DEFINE", "RULE", "WITH", "PRIORITY", "FOR", "TO", "TOPIC", "IF",
            "THEN", "ELSE", "ALLOW", "DENY", "PUBLISH", "SUBSCRIBE", "USER", "ROLE", "CLIENTID", "LISTENER",
            "ADDRESS", "ANONYMOUS", "IS", "IN", "STARTS", "MATCHES", "AND", "OR", "NOT");

    enum Kind { WORD, NUMBER, STRING, LPAREN, RPAREN, COMMA, SEMICOLON, END }

    /**
     * A token: its kind, its text as written (a string with its quotes and escapes), its value (a string's content,
     * a word upper-cased for keyword comparison), and where it is.
     */
    record Token(Kind kind, String text, String value, int line, int column, int start, int end) {

        boolean is(String keyword) {
            return kind == Kind.WORD && value.equals(keyword);
        }

        String describe() {
            return switch (kind) {
                case WORD -> "'" + text + "'";
                case NUMBER -> "number " + text;
                case STRING -> "string " + text;
                case END -> "end of input";
                default -> "'" + text + "'";
            };
        }
    }

    private final String src;
    private int pos;
    private int line = 1;
    private int column = 1;
    private Token tok;
    /** The tokens of the rule being parsed, for its one-line text. */
    private final List<Token> ruleTokens = new ArrayList<>();

    private RuleParser(String src) {
        this.src = src;
    }

    /** Parses a rules file: zero or more rules, names unique. */
    public static List<Rule> parse(String text) throws RuleParseException {
        RuleParser p = new RuleParser(text);
        p.advance();
        List<Rule> rules = new ArrayList<>();
        Map<String, Rule> byName = new HashMap<>();
        while (p.tok.kind() != Kind.END) {
            Rule r = p.rule(byName);
            byName.put(r.name().toLowerCase(Locale.ROOT), r);
            rules.add(r);
        }
        return rules;
    }

    /** Parses exactly one rule (what {@code mqtt:rule-add} is given). */
    public static Rule parseOne(String text) throws RuleParseException {
        RuleParser p = new RuleParser(text);
        p.advance();
        Rule r = p.rule(Map.of());
        if (p.tok.kind() != Kind.END) {
            throw p.error(p.tok, "expected the end of the rule (one rule at a time), got " + p.tok.describe());
        }
        return r;
    }

    // ------------------------------------------------------------------------------------------------ grammar

    private Rule rule(Map<String, Rule> defined) throws RuleParseException {
        ruleTokens.clear();
        ruleTokens.add(tok);
        Token define = expectKeyword("DEFINE");
        expectKeyword("RULE");
        Token name = tok;
        if (name.kind() != Kind.WORD || KEYWORDS.contains(name.value())) {
            throw error(name, "expected a rule name, got " + (name.kind() == Kind.WORD
                    ? "the keyword " + name.describe() : name.describe()));
        }
        Rule same = defined.get(name.text().toLowerCase(Locale.ROOT));
        if (same != null) {
            throw error(name, "a rule named '" + same.name() + "' is already defined at line " + same.line());
        }
        advance();
        int priority = Rule.DEFAULT_PRIORITY;
        boolean prioritized = false;
        if (tok.is("WITH")) {
            advance();
            expectKeyword("PRIORITY");
            Token n = tok;
            if (n.kind() != Kind.NUMBER) {
                throw error(n, "expected a priority number, got " + n.describe());
            }
            if (n.text().length() > 10 || Long.parseLong(n.text()) > Integer.MAX_VALUE) {
                throw error(n, "a priority is a number from 0 to " + Integer.MAX_VALUE + ", got " + n.text());
            }
            priority = Integer.parseInt(n.text());
            prioritized = true;
            advance();
        } else if (!tok.is("FOR")) {
            throw error(tok, "expected WITH PRIORITY or FOR, got " + tok.describe());
        }
        expectKeyword("FOR");
        int actions = action();
        while (tok.kind() == Kind.COMMA) {
            advance();
            actions |= action();
        }
        List<TopicPattern> filters = new ArrayList<>();
        if (tok.is("TO")) {
            advance();
            expectKeyword("TOPIC");
            filters.add(filter());
            while (tok.kind() == Kind.COMMA) {
                advance();
                filters.add(filter());
            }
        }
        Condition condition = null;
        if (tok.is("IF")) {
            advance();
            condition = orCondition();
        }
        if (!tok.is("THEN")) {
            String expected = condition != null ? "AND, OR or THEN"
                    : filters.isEmpty() ? "',', TO TOPIC, IF or THEN" : "',', IF or THEN";
            throw error(tok, "expected " + expected + ", got " + tok.describe());
        }
        advance();
        Decision then = decision();
        Decision otherwise = null;
        if (tok.is("ELSE")) {
            advance();
            otherwise = decision();
        }
        String text = render(ruleTokens.subList(0, ruleTokens.size() - 1)); // without the look-ahead token
        int end = ruleTokens.get(ruleTokens.size() - 2).end();
        if (tok.kind() == Kind.SEMICOLON) {
            end = tok.end();
            advance();
        }
        if (tok.kind() != Kind.END && !tok.is("DEFINE")) {
            throw error(tok, "expected the end of the rule (" + (otherwise == null ? "ELSE, " : "")
                    + "';', DEFINE or the end of input), got " + tok.describe());
        }
        return new Rule(name.text(), priority, prioritized, actions, filters.toArray(new TopicPattern[0]), condition,
                then, otherwise, text, define.line(), define.start(), end);
    }

    private int action() throws RuleParseException {
        Token t = tok;
        if (t.is("PUBLISH")) {
            advance();
            return Rule.PUBLISH;
        }
        if (t.is("SUBSCRIBE")) {
            advance();
            return Rule.SUBSCRIBE;
        }
        throw error(t, "expected Publish or Subscribe, got " + t.describe());
    }

    private Decision decision() throws RuleParseException {
        Token t = tok;
        if (t.is("ALLOW")) {
            advance();
            return Decision.ALLOW;
        }
        if (t.is("DENY")) {
            advance();
            return Decision.DENY;
        }
        throw error(t, "expected ALLOW or DENY, got " + t.describe());
    }

    private TopicPattern filter() throws RuleParseException {
        Token t = expectString("a topic filter");
        try {
            return TopicPattern.compile(t.value());
        } catch (IllegalArgumentException e) {
            throw error(t, "invalid topic filter " + t.text() + ": " + e.getMessage());
        }
    }

    private Condition orCondition() throws RuleParseException {
        List<Condition> any = new ArrayList<>();
        any.add(andCondition());
        while (tok.is("OR")) {
            advance();
            any.add(andCondition());
        }
        return any.size() == 1 ? any.get(0) : new Condition.Or(any.toArray(new Condition[0]));
    }

    private Condition andCondition() throws RuleParseException {
        List<Condition> all = new ArrayList<>();
        all.add(unary());
        while (tok.is("AND")) {
            advance();
            all.add(unary());
        }
        return all.size() == 1 ? all.get(0) : new Condition.And(all.toArray(new Condition[0]));
    }

    private Condition unary() throws RuleParseException {
        if (tok.is("NOT")) {
            advance();
            return new Condition.Not(unary());
        }
        if (tok.kind() == Kind.LPAREN) {
            advance();
            Condition c = orCondition();
            if (tok.kind() != Kind.RPAREN) {
                throw error(tok, "expected AND, OR or ')', got " + tok.describe());
            }
            advance();
            return c;
        }
        return test();
    }

    private Condition test() throws RuleParseException {
        Token t = tok;
        if (t.kind() != Kind.WORD) {
            throw error(t, "expected a condition (USER, ROLE, CLIENTID, LISTENER, ADDRESS, ANONYMOUS, NOT or '('), "
                    + "got " + t.describe());
        }
        switch (t.value()) {
            case "USER" -> {
                advance();
                return new Condition.UserIn(Set.copyOf(isOrIn("user name")));
            }
            case "ROLE" -> {
                advance();
                return new Condition.RoleIn(isOrIn("role").stream().distinct().toArray(String[]::new));
            }
            case "LISTENER" -> {
                advance();
                return new Condition.ListenerIn(Set.copyOf(isOrIn("listener name")));
            }
            case "CLIENTID" -> {
                advance();
                if (tok.is("STARTS")) {
                    advance();
                    expectKeyword("WITH");
                    return new Condition.ClientIdStartsWith(expectString("a client id prefix").value());
                }
                if (tok.is("MATCHES")) {
                    advance();
                    Token re = expectString("a regular expression");
                    try {
                        return new Condition.ClientIdMatches(Pattern.compile(re.value()));
                    } catch (PatternSyntaxException e) {
                        throw error(re, "invalid regular expression " + re.text() + ": " + e.getDescription()
                                + (e.getIndex() >= 0 ? " near index " + e.getIndex() : ""));
                    }
                }
                if (!tok.is("IS") && !tok.is("IN")) {
                    throw error(tok, "expected IS, IN, STARTS WITH or MATCHES, got " + tok.describe());
                }
                return new Condition.ClientIdIn(Set.copyOf(isOrIn("client id")));
            }
            case "ADDRESS" -> {
                advance();
                List<Cidr> blocks = new ArrayList<>();
                if (tok.is("IS")) {
                    advance();
                    Token ip = expectString("an IP address");
                    if (ip.value().indexOf('/') >= 0) {
                        throw error(ip, "ADDRESS IS takes one address, without a prefix length (for a block: "
                                + "ADDRESS IN " + ip.text() + ")");
                    }
                    blocks.add(cidr(ip));
                } else if (tok.is("IN")) {
                    advance();
                    if (tok.kind() == Kind.STRING) {
                        blocks.add(cidr(tok));
                        advance();
                    } else if (tok.kind() == Kind.LPAREN) {
                        advance();
                        blocks.add(cidr(expectString("an address block")));
                        while (tok.kind() == Kind.COMMA) {
                            advance();
                            blocks.add(cidr(expectString("an address block")));
                        }
                        expect(Kind.RPAREN, "',' or ')'");
                    } else {
                        throw error(tok, "expected an address block (\"10.0.0.0/8\") or a list of them in "
                                + "parentheses, got " + tok.describe());
                    }
                } else {
                    throw error(tok, "expected IS or IN, got " + tok.describe());
                }
                return new Condition.AddressIn(blocks.toArray(new Cidr[0]));
            }
            case "ANONYMOUS" -> {
                advance();
                return new Condition.Anonymous();
            }
            default -> throw error(t, "expected a condition (USER, ROLE, CLIENTID, LISTENER, ADDRESS, ANONYMOUS, "
                    + "NOT or '('), got " + t.describe());
        }
    }

    private Cidr cidr(Token t) throws RuleParseException {
        try {
            return Cidr.parse(t.value());
        } catch (IllegalArgumentException e) {
            throw error(t, "invalid address block: " + e.getMessage());
        }
    }

    /** {@code IS "x"} or {@code IN ("a", "b", ...)}: the values. */
    private List<String> isOrIn(String what) throws RuleParseException {
        List<String> values = new ArrayList<>();
        if (tok.is("IS")) {
            advance();
            values.add(expectString("a " + what).value());
        } else if (tok.is("IN")) {
            advance();
            expect(Kind.LPAREN, "'(' and a list of " + what + "s");
            values.add(expectString("a " + what).value());
            while (tok.kind() == Kind.COMMA) {
                advance();
                values.add(expectString("a " + what).value());
            }
            expect(Kind.RPAREN, "',' or ')'");
        } else {
            throw error(tok, "expected IS or IN, got " + tok.describe());
        }
        return values;
    }

    private Token expectKeyword(String keyword) throws RuleParseException {
        Token t = tok;
        if (!t.is(keyword)) {
            throw error(t, "expected " + keyword + ", got " + t.describe());
        }
        advance();
        return t;
    }

    private Token expectString(String what) throws RuleParseException {
        Token t = tok;
        if (t.kind() != Kind.STRING) {
            throw error(t, "expected " + what + " in double quotes, got " + t.describe());
        }
        advance();
        return t;
    }

    private void expect(Kind kind, String what) throws RuleParseException {
        if (tok.kind() != kind) {
            throw error(tok, "expected " + what + ", got " + tok.describe());
        }
        advance();
    }

    private RuleParseException error(Token t, String reason) {
        return new RuleParseException(t.line(), t.column(), reason);
    }

    /** The tokens on one line: single spaces, none before ',', ')' and ';' nor after '('. */
    private static String render(List<Token> tokens) {
        StringBuilder b = new StringBuilder();
        Token prev = null;
        for (Token t : tokens) {
            if (prev != null && prev.kind() != Kind.LPAREN && t.kind() != Kind.COMMA && t.kind() != Kind.RPAREN
                    && t.kind() != Kind.SEMICOLON) {
                b.append(' ');
            }
            b.append(t.text());
            prev = t;
        }
        return b.toString();
    }

    // ------------------------------------------------------------------------------------------------ tokens

    private void advance() throws RuleParseException {
        tok = lex();
        ruleTokens.add(tok);
    }

    private Token lex() throws RuleParseException {
        skipSpaceAndComments();
        int start = pos;
        int l = line;
        int c = column;
        if (pos >= src.length()) {
            return new Token(Kind.END, "", "", l, c, start, start);
        }
        char ch = src.charAt(pos);
        if (ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch == '_') {
            while (pos < src.length() && isWordChar(src.charAt(pos))) {
                step();
            }
            String w = src.substring(start, pos);
            return new Token(Kind.WORD, w, w.toUpperCase(Locale.ROOT), l, c, start, pos);
        }
        if (ch >= '0' && ch <= '9') {
            while (pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '9') {
                step();
            }
            String n = src.substring(start, pos);
            return new Token(Kind.NUMBER, n, n, l, c, start, pos);
        }
        if (ch == '"') {
            step();
            StringBuilder v = new StringBuilder();
            while (true) {
                if (pos >= src.length() || src.charAt(pos) == '\n' || src.charAt(pos) == '\r') {
                    throw new RuleParseException(l, c, "unterminated string (a string ends with '\"' on its line)");
                }
                char s = src.charAt(pos);
                if (s == '\\' && pos + 1 < src.length() && (src.charAt(pos + 1) == '"' || src.charAt(pos + 1) == '\\')) {
                    v.append(src.charAt(pos + 1));
                    step();
                    step();
                } else if (s == '"') {
                    step();
                    break;
                } else {
                    v.append(s);
                    step();
                }
            }
            return new Token(Kind.STRING, src.substring(start, pos), v.toString(), l, c, start, pos);
        }
        Kind k = switch (ch) {
            case '(' -> Kind.LPAREN;
            case ')' -> Kind.RPAREN;
            case ',' -> Kind.COMMA;
            case ';' -> Kind.SEMICOLON;
            default -> null;
        };
        if (k == null) {
            String shown = ch >= 0x20 && ch < 0x7F ? "'" + ch + "'" : String.format("U+%04X", (int) ch);
            throw new RuleParseException(l, c, "unexpected character " + shown);
        }
        step();
        return new Token(k, String.valueOf(ch), String.valueOf(ch), l, c, start, pos);
    }

    private static boolean isWordChar(char ch) {
        return ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_';
    }

    /** Skips white space, {@code # ...} and {@code -- ...} comments (to the end of the line). */
    private void skipSpaceAndComments() {
        while (pos < src.length()) {
            char ch = src.charAt(pos);
            if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
                step();
            } else if (ch == '#' || ch == '-' && pos + 1 < src.length() && src.charAt(pos + 1) == '-') {
                while (pos < src.length() && src.charAt(pos) != '\n') {
                    step();
                }
            } else {
                return;
            }
        }
    }

    private void step() {
        if (src.charAt(pos) == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
        pos++;
    }
}
