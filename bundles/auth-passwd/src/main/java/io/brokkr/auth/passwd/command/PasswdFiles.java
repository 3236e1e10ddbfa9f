package io.brokkr.auth.passwd.command;

import io.brokkr.auth.passwd.PasswdAuthenticator;
import java.nio.file.Path;

/** Which file the commands change: --file, else the authenticator's, else ${karaf.etc}/brokkr.passwd. */
final class PasswdFiles {

    private PasswdFiles() {
    }

    static Path target(String option, PasswdAuthenticator authenticator) {
        if (option != null) {
            return Path.of(option);
        }
        if (authenticator != null && authenticator.file() != null) {
            return authenticator.file();
        }
        String etc = System.getProperty("karaf.etc", "etc");
        return Path.of(etc, "brokkr.passwd");
    }

    /** Has the authenticator (if it reads this file) take the change at once rather than at its next poll. */
    static void reload(Path file, PasswdAuthenticator authenticator) {
        if (authenticator != null && file.toAbsolutePath().equals(authenticator.file().toAbsolutePath())) {
            authenticator.reloadNow();
        }
    }
}
