package io.brokkr.auth.rules;

/** A rules text that does not parse: where (line and column, from 1) and why. */
public final class RuleParseException extends Exception {

    private static final long serialVersionUID = 1L;

    private final int line;
    private final int column;
    private final String reason;

    public RuleParseException(int line, int column, String reason) {
        super("line " + line + " column " + column + ": " + reason);
        this.line = line;
        this.column = column;
        this.reason = reason;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }

    /** The reason alone, without the position (e.g. {@code expected THEN, got 'ALLOW'}). */
    public String reason() {
        return reason;
    }
}
