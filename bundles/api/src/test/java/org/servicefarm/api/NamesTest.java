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

    @Test
    void aConstantIsNamedInAnyCaseAndAnythingElseIsRefusedNamingTheField() {
        assertEquals(VmState.SLEEPING, Names.constant(VmState.class, "state", "VM state", " sleeping "));
        assertEquals(null, Names.constant(VmState.class, "state", "VM state", null), "left out");
        assertEquals(null, Names.constant(VmState.class, "state", "VM state", ""), "left out");
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> Names.constant(ArchiveTier.class, "tier", "archive tier", "frozen\n" + "x".repeat(100)));
        assertEquals("tier", e.field());
        assertEquals("unknown archive tier 'frozen\\u000a" + "x".repeat(Names.EXCERPT_LENGTH - 7)
                + "…'; one of [SAVED, COMPRESSED, DELTA]", e.getMessage());
        assertThrows(InvalidRequestException.class, () -> Names.constant(VmState.class, "state", "VM state", " "));
    }
}
