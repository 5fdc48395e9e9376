package org.servicefarm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every field of a host registration is bounded where it enters the API, naming the field and quoting no more than an excerpt. */
class HostRecordTest {

    private static final Capacity SOME = new Capacity(2, 2048, 4);

    private static HostRecord record(String name, String uri, Capacity capacity, double cost, String zone,
                                     Map<String, String> properties) {
        return new HostRecord(name, "libvirt", uri, capacity, cost, zone, properties);
    }

    private static InvalidRequestException refused(String field, Supplier<HostRecord> record) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, record::get);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().length() < 300, e.getMessage());
        assertTrue(e.getMessage().chars().allMatch(c -> c >= 0x20 && c != 0x7f), "printable: " + e.getMessage());
        return e;
    }

    @Test
    void aSensibleHostIsAccepted() {
        HostRecord host = record("alpha", "test:///etc/servicefarm/hosts/alpha.xml", SOME, 0.05, null,
                Map.of("portRange", "20000-20999"));
        assertEquals("standard", host.securityZone());
        assertEquals(Map.of("portRange", "20000-20999"), host.properties());
        assertEquals(0.0, record("free", "test:///default", new Capacity(1, 1, 1), 0, "dmz", null).costPerHour());
    }

    @Test
    void capacityIsAtLeastOneOfEachAndBounded() {
        refused("capacity.vcpus", () -> record("a", "test:///default", new Capacity(0, 0, 0), 1, null, null));
        refused("capacity.memoryMiB", () -> record("a", "test:///default", new Capacity(1, 0, 1), 1, null, null));
        refused("capacity.vms", () -> record("a", "test:///default", new Capacity(1, 1, 0), 1, null, null));
        refused("capacity.vcpus", () -> record("a", "test:///default", new Capacity(HostRecord.MAX_VCPUS + 1, 1, 1), 1,
                null, null));
        refused("capacity.memoryMiB", () -> record("a", "test:///default",
                new Capacity(1, HostRecord.MAX_MEMORY_MIB + 1, 1), 1, null, null));
        refused("capacity.vms", () -> record("a", "test:///default", new Capacity(1, 1, Integer.MAX_VALUE), 1, null,
                null));
        refused("capacity", () -> record("a", "test:///default", null, 1, null, null));
        assertEquals("capacity.memoryMiB", assertThrows(InvalidRequestException.class,
                () -> new Capacity(1, -1, 1)).field());
    }

    @ParameterizedTest
    @ValueSource(doubles = {-0.01, 1e308, 1_000_000.01, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
    void costIsAFiniteNumberFromZeroToAMillion(double cost) {
        refused("costPerHour", () -> record("a", "test:///default", SOME, cost, null, null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"a;id", "<zone>", "zone\n", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "-dmz"})
    void securityZoneIsAName(String zone) {
        refused("securityZone", () -> record("a", "test:///default", SOME, 1, zone, null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"test:///x\u0000y", "test:///x\ny", "test:///x\ry", "test:///x\ty", "test:///\u001b[31m",
            "test:///caf\u00e9", "test:///x\u202ey", "test:///x\u007fy"})
    void uriHoldsPrintableAsciiOnly(String uri) {
        InvalidRequestException e = refused("uri", () -> record("a", uri, SOME, 1, null, null));
        assertFalse(e.getMessage().contains("\u0000") || e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void uriIsRequiredAndBounded() {
        refused("uri", () -> record("a", null, SOME, 1, null, null));
        refused("uri", () -> record("a", "  ", SOME, 1, null, null));
        String huge = "test:///" + "a".repeat(HostRecord.MAX_URI_LENGTH);
        InvalidRequestException e = refused("uri", () -> record("a", huge, SOME, 1, null, null));
        assertFalse(e.getMessage().contains("aaaaaaaaaa"), e.getMessage());
    }

    @Test
    void nameAndDriverAreNames() {
        refused("name", () -> record("<x>'&", "test:///default", SOME, 1, null, null));
        refused("name", () -> record(null, "test:///default", SOME, 1, null, null));
        refused("name", () -> record("n".repeat(64), "test:///default", SOME, 1, null, null));
        refused("driver", () -> new HostRecord("a", "lib virt", "test:///default", SOME, 1, null, null));
        refused("driver", () -> new HostRecord("a", null, "test:///default", SOME, 1, null, null));
    }

    @Test
    void propertiesAreBoundedAndPrintable() {
        refused("properties.portRange", () -> record("a", "test:///default", SOME, 1, null,
                Map.of("portRange", "1\n2")));
        refused("properties.portRange", () -> record("a", "test:///default", SOME, 1, null,
                Map.of("portRange", "9".repeat(HostRecord.MAX_PROPERTY_VALUE_LENGTH + 1))));
        refused("properties", () -> record("a", "test:///default", SOME, 1, null, Map.of("a;b", "1")));
        refused("properties", () -> record("a", "test:///default", SOME, 1, null, Map.of("k".repeat(65), "1")));
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i <= HostRecord.MAX_PROPERTIES; i++) {
            many.put("key" + i, "v");
        }
        refused("properties", () -> record("a", "test:///default", SOME, 1, null, many));
        Map<String, String> nullValue = new HashMap<>();
        nullValue.put("bootTimeMs", null);
        refused("properties.bootTimeMs", () -> record("a", "test:///default", SOME, 1, null, nullValue));
    }

    @Test
    void excerptKeepsLongerTextWhenAsked() {
        assertEquals("line\\u000aforged", Names.excerpt("line\nforged", 200));
        assertEquals("ab…", Names.excerpt("abc", 2));
    }
}
