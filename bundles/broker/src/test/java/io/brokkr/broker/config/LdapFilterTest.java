package io.brokkr.broker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The LDAP filter matcher of {@code auth.filter}: OSGi filter syntax and matching rules (OSGi Core 3.2.7). */
class LdapFilterTest {

    private static final Map<String, Object> PASSWD = Map.of(
            "component.name", "io.brokkr.auth.passwd",
            "provider", "passwd",
            "service.ranking", 10,
            "service.id", 42L,
            "objectClass", new String[] {"io.brokkr.api.auth.Authenticator"},
            "tags", List.of("file", "mosquitto"),
            "enabled", true);

    private static boolean m(String filter) {
        return LdapFilter.parse(filter).matches(PASSWD);
    }

    @Test
    void equalityAndPresence() {
        assertTrue(m("(provider=passwd)"));
        assertFalse(m("(provider=http)"));
        assertTrue(m("(PROVIDER=passwd)"), "keys without regard to case");
        assertFalse(m("(provider=PASSWD)"), "values with case");
        assertTrue(m("(provider=*)"));
        assertFalse(m("(missing=*)"));
        assertFalse(m("(missing=x)"));
        assertTrue(m("( provider =passwd)"), "spaces around the key");
    }

    @Test
    void substrings() {
        assertTrue(m("(component.name=io.brokkr.auth.*)"));
        assertTrue(m("(component.name=*passwd)"));
        assertTrue(m("(component.name=io*auth*wd)"));
        assertFalse(m("(component.name=*http*)"));
        assertFalse(m("(component.name=io.brokkr.auth.passwd*x)"));
        assertFalse(m("(provider=pass*sswd)"), "the parts may not overlap");
    }

    @Test
    void numbersBooleansArraysCollections() {
        assertTrue(m("(service.ranking=10)"));
        assertTrue(m("(service.ranking>=5)"));
        assertFalse(m("(service.ranking<=5)"));
        assertTrue(m("(service.id=42)"));
        assertFalse(m("(service.ranking=ten)"));
        assertTrue(m("(enabled=true)"));
        assertFalse(m("(enabled=false)"));
        assertTrue(m("(objectClass=io.brokkr.api.auth.Authenticator)"), "any element of an array");
        assertTrue(m("(tags=mosquitto)"), "any element of a collection");
        assertFalse(m("(tags=ldap)"));
        assertTrue(m("(provider~=PassWD)"), "approximate: case ignored");
    }

    @Test
    void andOrNot() {
        assertTrue(m("(&(provider=passwd)(service.ranking>=10))"));
        assertFalse(m("(&(provider=passwd)(service.ranking>=11))"));
        assertTrue(m("(|(provider=http)(provider=passwd))"));
        assertFalse(m("(|(provider=http)(provider=jaas))"));
        assertTrue(m("(!(provider=http))"));
        assertTrue(m("(&(|(provider=http)(provider=passwd))(!(enabled=false)))"));
    }

    @Test
    void escapes() {
        LdapFilter f = LdapFilter.parse("(name=a\\(b\\)\\*c\\\\)");
        assertTrue(f.matches(Map.of("name", "a(b)*c\\")));
        assertFalse(f.matches(Map.of("name", "a(b)xc\\")), "an escaped star is no wildcard");
    }

    @Test
    void errorsNameThePosition() {
        for (String bad : List.of("", "provider=passwd", "(provider=passwd", "(=x)", "(&)", "(provider)",
                "(a=b)(c=d)", "(a=b(c)", "(a<b)", "(a=b\\")) {
            assertThrows(IllegalArgumentException.class, () -> LdapFilter.parse(bad), bad);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LdapFilter.parse("(&(a=b)(c))"));
        assertEquals("invalid filter '(&(a=b)(c))' at position 9: '=', '~=', '>=' or '<=' expected",
                e.getMessage());
    }

    @Test
    void textIsTheFilter() {
        assertEquals("(&(a=b)(c=*))", LdapFilter.parse(" (&(a=b)(c=*)) ").toString());
    }
}
