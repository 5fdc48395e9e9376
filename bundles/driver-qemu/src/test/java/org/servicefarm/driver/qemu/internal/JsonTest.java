package org.servicefarm.driver.qemu.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesWhatQemuSends() {
        Map<String, Object> m = Json.parseObject("{\"return\": {\"status\": \"completed\", \"setup-time\": 6,"
                + " \"mbps\": 986.9728, \"ok\": true, \"none\": null, \"list\": [1, \"a\", []]}, \"id\": \"sf-3\"}\r\n");
        Map<String, Object> r = Json.object(m, "return");
        assertEquals("completed", r.get("status"));
        assertEquals(6L, r.get("setup-time"));
        assertEquals(986.9728, r.get("mbps"));
        assertEquals(Boolean.TRUE, r.get("ok"));
        assertEquals(null, r.get("none"));
        assertEquals(Arrays.asList(1L, "a", List.of()), r.get("list"));
        assertEquals("sf-3", m.get("id"));
    }

    @Test
    void roundTripsEscapes() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "quote \" backslash \\ newline \n tab \t nul \0 unicode é \u2028");
        m.put("n", -12L);
        m.put("l", List.of("x", 2L));
        String text = Json.write(m);
        assertEquals(m, Json.parse(text));
        assertEquals(m, Json.parse(Json.writePretty(m)));
        assertEquals("a\u00e9/", Json.parse("\"a\\u00e9\\/\""));
    }

    @Test
    void refusesWhatIsNotJson() {
        for (String bad : List.of("", "{", "{\"a\" 1}", "[1,]", "{\"a\":1}x", "\"unterminated", "tru", "{'a':1}",
                "\"ctl \u0001\"", "\"bad \\q escape\"", "-", "01x")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void boundsTheNesting() {
        String deep = "[".repeat(Json.MAX_DEPTH + 2) + "]".repeat(Json.MAX_DEPTH + 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(deep));
        assertEquals(true, e.getMessage().contains("nested"));
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        Json.parse(ok);
    }

    @Test
    void writesNoNonFiniteNumbers() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
    }
}
