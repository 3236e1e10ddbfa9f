package io.brokkr.auth.passwd;

import java.io.Console;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Command line: {@code java -cp io.brokkr.auth.passwd-VERSION.jar io.brokkr.auth.passwd.PasswdTool FILE USER [PASSWORD]}
 * sets USER's password in FILE (created if missing) in the format of mosquitto_passwd 2.0 ({@code $7$}, PBKDF2-SHA512,
 * 101 iterations, 12-byte salt), keeping the other lines; without PASSWORD it is asked for twice on the console.
 * {@code -D FILE USER} removes USER. The file is replaced atomically.
 */
public final class PasswdTool {

    private PasswdTool() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    static int run(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("-D")) {
            boolean removed = PasswdFile.remove(Path.of(args[1]), args[2]);
            System.out.println(removed ? "Removed user '" + args[2] + "'" : "No user '" + args[2] + "' in " + args[1]);
            return removed ? 0 : 1;
        }
        if (args.length < 2 || args.length > 3) {
            System.err.println("Usage: PasswdTool FILE USER [PASSWORD]   (sets USER's password; asked for if missing)");
            System.err.println("       PasswdTool -D FILE USER           (removes USER)");
            return 2;
        }
        byte[] password;
        if (args.length == 3) {
            password = args[2].getBytes(StandardCharsets.UTF_8);
        } else {
            Console console = System.console();
            if (console == null) {
                System.err.println("No console to ask for the password: give it as the third argument");
                return 2;
            }
            char[] a = console.readPassword("Password: ");
            char[] b = console.readPassword("Reenter password: ");
            if (a == null || b == null || !Arrays.equals(a, b)) {
                System.err.println("Passwords do not match");
                return 1;
            }
            password = new String(a).getBytes(StandardCharsets.UTF_8);
        }
        try {
            boolean updated = PasswdFile.put(Path.of(args[0]), args[1], password);
            System.out.println((updated ? "Updated" : "Added") + " user '" + args[1] + "' in " + args[0]);
            return 0;
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 1;
        }
    }
}
