package org.servicefarm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class NamesTest {

    @ParameterizedTest
    @ValueSource(strings = {"wiki", "2.1", "debian-12", "php-8.2", "httpd-cve-2024-38476", "c++", "a_b"})
    void catalogNamesAreNames(String name) {
        assertTrue(Names.valid(name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "-x", ".x", "<wiki>", "a b", "a;id", "a/b", "../x", "x\u0000", "é"})
    void hostileOrMalformedNamesAreNot(String name) {
        assertFalse(Names.valid(name));
    }

    @Test
    void aHugeNameIsRefusedNamingTheFieldWithoutRepeatingIt() {
        String huge = "w".repeat(60_000);
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> ServiceRequest.of(huge));
        assertEquals("service", e.field());
        assertTrue(e.getMessage().length() < 200, e.getMessage());
        assertFalse(e.getMessage().contains("www"), e.getMessage());
    }

    @Test
    void everyNameOfARequestIsChecked() {
        assertEquals("environment.os", assertThrows(InvalidRequestException.class,
                () -> new Environment("a;id", null, null, null)).field());
        assertEquals("environment.patches", assertThrows(InvalidRequestException.class,
                () -> new Environment(null, null, null, List.of("ok", "<p>"))).field());
        assertEquals("tier", assertThrows(InvalidRequestException.class,
                () -> new ServiceRequest("wiki", null, null, null, "gold\n", null)).field());
        assertEquals("service", assertThrows(InvalidRequestException.class,
                () -> new ServiceRequest(" ", null, null, null, null, null)).field());
    }

    @Test
    void excerptCutsAndEscapes() {
        assertEquals("a\\u0000b\\u000a", Names.excerpt("a\u0000b\n"));
        assertEquals("x".repeat(Names.EXCERPT_LENGTH) + "…", Names.excerpt("x".repeat(500)));
        assertEquals("null", Names.excerpt(null));
    }
}
