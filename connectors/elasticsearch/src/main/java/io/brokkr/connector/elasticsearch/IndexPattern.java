package io.brokkr.connector.elasticsearch;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An index name pattern such as {@code mqtt-%{yyyy.MM.dd}}: text outside {@code %{...}} is literal, the text inside
 * is a {@link DateTimeFormatter} pattern applied to the message's receive time in UTC. A pattern without
 * {@code %{...}} names one fixed index. The result is lower-cased, since Elasticsearch index names must be.
 */
final class IndexPattern {

    /** Characters Elasticsearch rejects in an index name (and in an index template's name). */
    static final String ILLEGAL = "\\/*?\"<>| ,#:";

    private final String pattern;
    /** Literal Strings and DateTimeFormatters, in order. */
    private final List<Object> parts;
    /** The name when the pattern has no date part, else null. */
    private final String fixed;
    /** {@link #wildcard()}, made once. */
    private final String wildcard;

    private IndexPattern(String pattern, List<Object> parts) {
        this.pattern = pattern;
        this.parts = parts;
        this.fixed = parts.stream().allMatch(p -> p instanceof String) ? format(0) : null;
        this.wildcard = fixed != null ? fixed : wildcard(parts);
    }

    /**
     * Parses a pattern.
     *
     * @throws IllegalArgumentException naming what is wrong (unclosed {@code %{}, a bad date pattern, a character
     *                                  Elasticsearch rejects, an empty name)
     */
    static IndexPattern parse(String pattern) {
        if (pattern == null || pattern.isBlank()) {
            throw new IllegalArgumentException("index must not be empty");
        }
        String p = pattern.trim();
        List<Object> parts = new ArrayList<>();
        int i = 0;
        while (i < p.length()) {
            int open = p.indexOf("%{", i);
            if (open < 0) {
                parts.add(p.substring(i));
                break;
            }
            if (open > i) {
                parts.add(p.substring(i, open));
            }
            int close = p.indexOf('}', open + 2);
            if (close < 0) {
                throw new IllegalArgumentException("index '" + p + "': '%{' without a closing '}'");
            }
            String date = p.substring(open + 2, close);
            try {
                parts.add(DateTimeFormatter.ofPattern(date, Locale.ROOT).withZone(ZoneOffset.UTC));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("index '" + p + "': bad date pattern '" + date + "': "
                        + e.getMessage());
            }
            i = close + 1;
        }
        IndexPattern ip = new IndexPattern(p, parts);
        String sample;
        try {
            sample = ip.format(System.currentTimeMillis());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("index '" + p + "': " + e.getMessage());
        }
        for (char c : sample.toCharArray()) {
            if (ILLEGAL.indexOf(c) >= 0) {
                throw new IllegalArgumentException("index '" + p + "': Elasticsearch index names must not contain '"
                        + c + "' (" + sample + ")");
            }
        }
        if (sample.isEmpty() || "-_+".indexOf(sample.charAt(0)) >= 0 || sample.equals(".") || sample.equals("..")) {
            throw new IllegalArgumentException("index '" + p + "': not a valid Elasticsearch index name ('"
                    + sample + "')");
        }
        return ip;
    }

    /** The index for a message received at {@code epochMillis}. */
    String format(long epochMillis) {
        if (fixed != null) {
            return fixed;
        }
        StringBuilder sb = new StringBuilder(32);
        Instant t = Instant.ofEpochMilli(epochMillis);
        for (Object part : parts) {
            if (part instanceof DateTimeFormatter f) {
                f.formatTo(t, sb);
            } else {
                sb.append(part);
            }
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    /**
     * The indices this pattern names, as an index template's {@code index_patterns} entry: each date part replaced by
     * {@code *} ({@code mqtt-%{yyyy.MM.dd}} gives {@code mqtt-*}); the fixed name itself without a date part.
     */
    String wildcard() {
        return wildcard;
    }

    private static String wildcard(List<Object> parts) {
        StringBuilder sb = new StringBuilder();
        for (Object part : parts) {
            if (part instanceof DateTimeFormatter) {
                if (sb.length() == 0 || sb.charAt(sb.length() - 1) != '*') {
                    sb.append('*');
                }
            } else {
                sb.append(part);
            }
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

    /** The pattern's literal text, lower-cased, without its date parts ({@code mqtt-} for {@code mqtt-%{yyyy}}). */
    String literal() {
        return wildcard.replace("*", "");
    }

    /**
     * The default name of the connector's index template: {@code brokkr-} and the pattern's literal text without its
     * date parts and trailing separators ({@code mqtt-%{yyyy.MM.dd}} gives {@code brokkr-mqtt}); that text alone when
     * it starts with {@code brokkr} already ({@code brokkr-bench}).
     */
    String templateName() {
        String literal = literal();
        int end = literal.length();
        while (end > 0 && "-_.+".indexOf(literal.charAt(end - 1)) >= 0) {
            end--;
        }
        String base = literal.substring(0, end);
        return base.startsWith("brokkr") ? base : "brokkr" + (base.isEmpty() ? "" : "-" + base);
    }

    @Override
    public String toString() {
        return pattern;
    }
}
