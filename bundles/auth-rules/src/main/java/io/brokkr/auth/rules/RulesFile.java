package io.brokkr.auth.rules;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/**
 * Reads and changes a rules file. A change is checked first (the new rule parses, the file as it is parses, the
 * file as it would be parses), then written to a temporary file in the same directory which is moved over the
 * rules file, so that the authorizer, which may read it at any moment, sees the old file or the new one, never a
 * part. The rest of the file (other rules, comments, layout) is kept as it is.
 */
public final class RulesFile {

    /** A change refused; the message says why, nothing was written. */
    public static final class RefusedException extends Exception {
        private static final long serialVersionUID = 1L;

        public RefusedException(String message) {
            super(message);
        }
    }

    private static final Object LOCK = new Object();

    private RulesFile() {
    }

    /** The file's text, or "" if it does not exist. */
    public static String read(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        }
    }

    /** The rules of a file in definition order (none if it does not exist). */
    public static List<Rule> rules(Path file) throws IOException, RuleParseException {
        return RuleParser.parse(read(file));
    }

    /**
     * Adds a rule at the end of the file (created if missing), or, with {@code replace}, puts it in place of the
     * rule of the same name (keeping that rule's place, so its order among rules of equal priority).
     *
     * @return the rule added
     * @throws RuleParseException if {@code ruleText} is not one rule (positions are in {@code ruleText})
     * @throws RefusedException   if a rule of that name exists and {@code replace} is false, or the file as it is
     *                            does not parse
     */
    public static Rule add(Path file, String ruleText, boolean replace)
            throws IOException, RuleParseException, RefusedException {
        Rule rule = RuleParser.parseOne(ruleText);
        String written = ruleText.substring(rule.start(), rule.end());
        synchronized (LOCK) {
            String text = read(file);
            List<Rule> existing = parseExisting(file, text);
            Rule same = find(existing, rule.name());
            String updated;
            if (same != null) {
                if (!replace) {
                    throw new RefusedException("a rule named '" + same.name() + "' exists already (line "
                            + same.line() + " of " + file + "): use --replace to replace it");
                }
                updated = text.substring(0, same.start()) + written + text.substring(same.end());
            } else {
                updated = text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + written + "\n";
            }
            check(updated);
            write(file, updated);
            return rule;
        }
    }

    /**
     * Removes the rule named {@code name} (ignoring case) from the file, with the line it stood on if nothing else
     * is on it.
     *
     * @return the rule removed, or null if there was none of that name
     * @throws RefusedException if the file does not parse
     */
    public static Rule remove(Path file, String name) throws IOException, RefusedException {
        synchronized (LOCK) {
            String text = read(file);
            Rule same = find(parseExisting(file, text), name);
            if (same == null) {
                return null;
            }
            int from = same.start();
            int to = same.end();
            int lineStart = from;
            while (lineStart > 0 && (text.charAt(lineStart - 1) == ' ' || text.charAt(lineStart - 1) == '\t')) {
                lineStart--;
            }
            int lineEnd = to;
            while (lineEnd < text.length() && (text.charAt(lineEnd) == ' ' || text.charAt(lineEnd) == '\t'
                    || text.charAt(lineEnd) == '\r')) {
                lineEnd++;
            }
            if ((lineStart == 0 || text.charAt(lineStart - 1) == '\n')
                    && (lineEnd == text.length() || text.charAt(lineEnd) == '\n')) {
                // the rule had its lines to itself: remove them
                from = lineStart;
                to = Math.min(text.length(), lineEnd + 1);
            }
            String updated = text.substring(0, from) + text.substring(to);
            check(updated);
            write(file, updated);
            return same;
        }
    }

    private static List<Rule> parseExisting(Path file, String text) throws RefusedException {
        try {
            return RuleParser.parse(text);
        } catch (RuleParseException e) {
            throw new RefusedException("the rules file " + file + " does not parse (" + e.getMessage()
                    + "): fix it first");
        }
    }

    private static void check(String updated) throws RefusedException {
        try {
            RuleParser.parse(updated);
        } catch (RuleParseException e) {
            // not expected: the rule and the file parsed on their own
            throw new RefusedException("the changed file would not parse (" + e.getMessage() + ")");
        }
    }

    static Rule find(List<Rule> rules, String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (Rule r : rules) {
            if (r.name().toLowerCase(Locale.ROOT).equals(n)) {
                return r;
            }
        }
        return null;
    }

    private static void write(Path file, String text) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                // the temporary file is the owner's only: the rules file keeps the permissions it had
                Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(abs));
            } catch (NoSuchFileException | UnsupportedOperationException e) {
                // a new file, or not a POSIX file system
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
