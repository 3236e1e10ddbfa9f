package io.brokkr.auth.passwd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The Mosquitto password file format, as {@code mosquitto_passwd} 2.0/2.1 reads and writes it: one user per line,
 * {@code user:$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512(password, salt, iterations, 64 bytes)>} or
 * {@code user:$6$<base64 salt>$<base64 SHA-512(password || salt)>}. Empty lines and lines starting with {@code #}
 * are skipped. Other hash formats ({@code $argon2id$} of Mosquitto 2.1, a plain text password) are kept as
 * {@link Unsupported} entries: their user is always refused.
 */
public final class PasswdFile {

    /** mosquitto_passwd 2.0 defaults, used for the lines this bundle writes. */
    public static final int ITERATIONS = 101;
    public static final int SALT_BYTES = 12;
    /** Output length of PBKDF2 and of SHA-512. */
    static final int HASH_BYTES = 64;

    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswdFile() {
    }

    /** One user's stored credential. */
    public sealed interface Entry permits Pbkdf2, Sha512, Unsupported {
    }

    /** {@code $7$}: PBKDF2-HMAC-SHA512. */
    public record Pbkdf2(int iterations, byte[] salt, byte[] hash) implements Entry {
    }

    /** {@code $6$}: SHA-512 of the password followed by the salt. */
    public record Sha512(byte[] salt, byte[] hash) implements Entry {
    }

    /** A format this bundle cannot check ({@code format} names it for the log); the user is always refused. */
    public record Unsupported(String format) implements Entry {
    }

    /** A line that does not parse: the whole file is rejected. */
    public static final class ParseException extends Exception {
        private final int line;

        public ParseException(int line, String reason) {
            super("line " + line + ": " + reason);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    /** Reads the users of a file, in the order of the file; of two lines of one user, the last counts. */
    public static Map<String, Entry> read(Path file) throws IOException, ParseException {
        return parse(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    public static Map<String, Entry> parse(List<String> lines) throws ParseException {
        Map<String, Entry> users = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = strip(lines.get(i));
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new ParseException(i + 1, colon == 0 ? "empty user name" : "no ':' between user and hash");
            }
            String user = line.substring(0, colon);
            users.remove(user); // a later line of the same user wins, as with Mosquitto 2.0.11 (checked)
            users.put(user, entry(i + 1, line.substring(colon + 1)));
        }
        return users;
    }

    private static String strip(String line) {
        int end = line.length();
        while (end > 0 && (line.charAt(end - 1) == '\r' || line.charAt(end - 1) == '\n')) {
            end--;
        }
        return line.substring(0, end);
    }

    private static Entry entry(int line, String hash) throws ParseException {
        if (!hash.startsWith("$")) {
            return new Unsupported("plain text password");
        }
        String[] f = hash.split("\\$", -1); // "", "7", iterations, salt, hash
        try {
            if (f[1].equals("7")) {
                if (f.length != 5) {
                    throw new ParseException(line, "$7$ needs $7$iterations$salt$hash");
                }
                int iterations = Integer.parseInt(f[2]);
                if (iterations < 1) {
                    throw new ParseException(line, "$7$ iterations must be positive: " + f[2]);
                }
                return new Pbkdf2(iterations, decode(line, f[3], "salt"), hash64(line, f[4]));
            }
            if (f[1].equals("6")) {
                if (f.length != 4) {
                    throw new ParseException(line, "$6$ needs $6$salt$hash");
                }
                return new Sha512(decode(line, f[2], "salt"), hash64(line, f[3]));
            }
        } catch (NumberFormatException e) {
            throw new ParseException(line, "$7$ iterations are not a number: " + f[2]);
        }
        return new Unsupported(f.length > 2 ? "$" + f[1] + "$" : hash.length() > 12 ? hash.substring(0, 12) : hash);
    }

    private static byte[] hash64(int line, String b64) throws ParseException {
        byte[] h = decode(line, b64, "hash");
        if (h.length != HASH_BYTES) {
            throw new ParseException(line, "hash is " + h.length + " bytes, not " + HASH_BYTES);
        }
        return h;
    }

    private static byte[] decode(int line, String b64, String what) throws ParseException {
        try {
            byte[] b = Base64.getDecoder().decode(b64);
            if (b.length == 0) {
                throw new ParseException(line, "empty " + what);
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new ParseException(line, what + " is not base64: " + e.getMessage());
        }
    }

    /**
     * Whether {@code password} matches; the comparison of the hashes is constant-time. Always false for an
     * {@link Unsupported} entry.
     */
    public static boolean verify(Entry entry, byte[] password) {
        byte[] computed;
        byte[] stored;
        if (entry instanceof Pbkdf2 p) {
            computed = pbkdf2(password, p.salt(), p.iterations());
            stored = p.hash();
        } else if (entry instanceof Sha512 s) {
            computed = sha512(password, s.salt());
            stored = s.hash();
        } else {
            return false;
        }
        return MessageDigest.isEqual(computed, stored);
    }

    /**
     * PBKDF2-HMAC-SHA512 with a 64-byte output (RFC 8018 section 5.2: one block, as dkLen equals hLen) over the
     * password bytes as given. Written out rather than through {@code PBEKeySpec}, which takes characters and so
     * cannot carry an MQTT password that is not UTF-8; Mosquitto hashes the bytes too.
     */
    public static byte[] pbkdf2(byte[] password, byte[] salt, int iterations) {
        try {
            Mac mac = Mac.getInstance("HmacSHA512");
            // HMAC keys may be empty in the algorithm; SecretKeySpec refuses an empty array, so use a 1-byte key's
            // equivalent: HMAC pads the key with zeros to the block size, so an empty key equals a single 0 byte.
            mac.init(new SecretKeySpec(password.length == 0 ? new byte[1] : password, "HmacSHA512"));
            mac.update(salt);
            mac.update(new byte[] {0, 0, 0, 1});
            byte[] u = mac.doFinal();
            byte[] t = u.clone();
            for (int i = 1; i < iterations; i++) {
                u = mac.doFinal(u);
                for (int j = 0; j < t.length; j++) {
                    t[j] ^= u[j];
                }
            }
            return t;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA512 unavailable", e);
        }
    }

    static byte[] sha512(byte[] password, byte[] salt) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-512");
            md.update(password);
            md.update(salt);
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-512 unavailable", e);
        }
    }

    /** The hash part of a line for {@code password} as mosquitto_passwd 2.0 writes it: $7$, 101 iterations, 12-byte salt. */
    public static String hash(byte[] password) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        return hash(password, salt, ITERATIONS);
    }

    static String hash(byte[] password, byte[] salt, int iterations) {
        Base64.Encoder b64 = Base64.getEncoder();
        return "$7$" + iterations + "$" + b64.encodeToString(salt) + "$"
                + b64.encodeToString(pbkdf2(password, salt, iterations));
    }

    /** Checks a user name for what the file format cannot hold (Mosquitto refuses ':' too). */
    public static void checkUser(String user) {
        if (user == null || user.isEmpty()) {
            throw new IllegalArgumentException("empty user name");
        }
        if (user.indexOf(':') >= 0 || user.indexOf('\n') >= 0 || user.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("a user name cannot contain ':' or a line break");
        }
        if (user.startsWith("#")) {
            throw new IllegalArgumentException("a user name cannot start with '#' (a comment line)");
        }
    }

    /**
     * Sets the password of {@code user} in {@code file} (created if missing), keeping every other line as it was:
     * the user's line is replaced in place, or appended. Returns true if the user was already there.
     */
    public static boolean put(Path file, String user, byte[] password) throws IOException {
        checkUser(user);
        String line = user + ":" + hash(password);
        List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        List<String> out = new ArrayList<>(lines.size() + 1);
        boolean found = false;
        for (String l : lines) {
            if (!l.startsWith(user + ":")) {
                out.add(l);
            } else if (!found) {
                out.add(line);
                found = true;
            } // else a second line of the user, which would win over the new one: dropped
        }
        if (!found) {
            out.add(line);
        }
        write(file, out);
        return found;
    }

    /** Removes {@code user} from {@code file}, keeping every other line. Returns false if it was not there. */
    public static boolean remove(Path file, String user) throws IOException {
        checkUser(user);
        if (!Files.exists(file)) {
            return false;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> out = new ArrayList<>(lines);
        boolean removed = out.removeIf(l -> l.startsWith(user + ":"));
        if (removed) {
            write(file, out);
        }
        return removed;
    }

    /**
     * Writes the lines to a temporary file in the same directory and moves it over {@code file} (atomically where
     * the file system can), so that a reader (the broker polling the file, Mosquitto) never sees half a file. The
     * permissions of the old file are kept; a new file is readable by its owner only.
     */
    static void write(Path file, List<String> lines) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            StringBuilder sb = new StringBuilder();
            for (String l : lines) {
                sb.append(l).append('\n');
            }
            Files.writeString(tmp, sb, StandardCharsets.UTF_8);
            try {
                Set<PosixFilePermission> perms = Files.exists(abs) ? Files.getPosixFilePermissions(abs)
                        : PosixFilePermissions.fromString("rw-------");
                Files.setPosixFilePermissions(tmp, perms);
            } catch (UnsupportedOperationException notPosix) {
                // keep the default permissions
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
