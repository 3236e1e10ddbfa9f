package io.brokkr.api;

import java.security.Principal;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Who an authenticator found a client to be: returned with an ALLOW decision
 * ({@code AuthenticationResult.allow(principal)}) and then visible to authorizers and interceptors through
 * {@link ConnectionContext#principal()}.
 *
 * @param name       the principal's name (often the user name, but not necessarily: e.g. a certificate's subject)
 * @param roles      roles or groups, for authorizers to decide on; never null (null becomes empty), immutable
 * @param attributes further facts (e.g. "tenant"); never null (null becomes empty), immutable
 */
public record BrokkrPrincipal(String name, Set<String> roles, Map<String, String> attributes) implements Principal {

    public BrokkrPrincipal {
        Objects.requireNonNull(name, "name");
        roles = roles == null ? Set.of() : Set.copyOf(roles);
        attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
    }

    /** A principal with roles and no attributes. */
    public static BrokkrPrincipal of(String name, String... roles) {
        return new BrokkrPrincipal(name, Set.of(roles), Map.of());
    }

    @Override
    public String getName() {
        return name;
    }

    public boolean hasRole(String role) {
        return roles.contains(role);
    }
}
