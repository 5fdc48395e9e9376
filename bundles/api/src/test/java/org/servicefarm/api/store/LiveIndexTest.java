package org.servicefarm.api.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

class LiveIndexTest {

    private static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "httpd-2.4", "php-8.2", List.of()), "standard");
    private static final Offering BLOG = new Offering("blog", "5.4",
            new Environment("debian-12", "nginx-1.22", "python-3.11", List.of()), "standard");

    private final LiveIndex index = new LiveIndex();

    private static VmRecord vm(String id, Offering offering, VmState state, long createdSecond) {
        return new VmRecord(id, "h", "img", offering, Map.of(), state, new Capacity(1, 256, 1),
                Instant.ofEpochSecond(createdSecond), null, 0, null);
    }

    @Test
    void holdsTheRowsThatOccupyAHostByOfferingOldestFirst() {
        index.update(null, vm("b", WIKI, VmState.ACTIVE, 2));
        index.update(null, vm("a", WIKI, VmState.SLEEPING, 2));
        index.update(null, vm("c", WIKI, VmState.CREATING, 1));
        index.update(null, vm("d", WIKI, VmState.ARCHIVED, 0));
        index.update(null, vm("e", WIKI, VmState.DESTROYED, 0));
        assertEquals(List.of("d", "c", "a", "b"), index.offering(WIKI).stream().map(VmRecord::id).toList(),
                "oldest first, then by id; a destroyed VM is history");
        assertEquals(List.of(), index.offering(BLOG));
    }

    @Test
    void followsEachChangeOfARow() {
        VmRecord active = index.update(null, vm("a", WIKI, VmState.ACTIVE, 1));
        VmRecord failed = index.update(active, vm("a", WIKI, VmState.FAILED, 1));
        assertEquals(List.of(), index.occupying(), "no longer occupying a host: out");
        VmRecord restored = index.update(failed, vm("a", WIKI, VmState.ACTIVE, 1));
        index.update(restored, vm("a", BLOG, VmState.ACTIVE, 1));
        assertEquals(List.of(), index.offering(WIKI), "a row under another offering leaves the old one's");
        assertEquals(1, index.offering(BLOG).size());
        index.remove(vm("a", BLOG, VmState.ACTIVE, 1));
        assertEquals(List.of(), index.occupying());
    }
}
