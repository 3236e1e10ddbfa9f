package io.brokkr.auth.rules.command;

import io.brokkr.auth.rules.RulesAuthorizer;
import java.nio.file.Path;

/** Which file the commands use: --file, else the authorizer's, else ${karaf.etc}/brokkr.rules. */
final class RuleFiles {

    private RuleFiles() {
    }

    static Path target(String option, RulesAuthorizer authorizer) {
        if (option != null) {
            return Path.of(option);
        }
        if (authorizer != null && authorizer.file() != null) {
            return authorizer.file();
        }
        String etc = System.getProperty("karaf.etc", "etc");
        return Path.of(etc, "brokkr.rules");
    }

    /** Whether the authorizer is running on this file. */
    static boolean inForce(Path file, RulesAuthorizer authorizer) {
        return authorizer != null && authorizer.file() != null
                && file.toAbsolutePath().equals(authorizer.file().toAbsolutePath());
    }

    /** Has the authorizer (if it reads this file) take the change at once rather than at its next poll. */
    static void reload(Path file, RulesAuthorizer authorizer) {
        if (inForce(file, authorizer)) {
            authorizer.reloadNow();
        }
    }
}
