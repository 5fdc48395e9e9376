package org.servicefarm.store.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

class RowCodecTest {
    private final RowCodec codec = new RowCodec();

    static VmRecord vm(String id, VmState state) {
        Offering wiki = new Offering("wiki", "2.1", new Environment("debian-12", "nginx-1.22", "php-8.2",
                List.of("security-2026-11")), "standard");
        return new VmRecord(id, "alpha", "img-" + id, wiki, Map.of("wiki", new Endpoint("127.0.0.1", 24001)), state,
                new Capacity(1, 256, 1), Instant.parse("2026-11-26T04:00:00.123456Z"),
                Instant.parse("2026-11-26T04:05:00Z"), 7, "placed on alpha by least-loaded");
    }

    @Test
    void aVmReadBackIsTheVmWritten() {
        VmRecord written = vm("sf-1", VmState.ACTIVE);
        String json = codec.write(written);
        assertEquals(written, codec.read(json, VmRecord.class), json);
    }

    @Test
    void derivedAccessorsAreNotWritten() {
        String json = codec.write(vm("sf-2", VmState.SLEEPING));
        assertEquals(-1, json.indexOf("\"key\""), json);
        assertEquals(-1, json.indexOf("\"complete\""), json);
        assertEquals(-1, json.indexOf("inStateSince"), json);
    }

    @Test
    void aNullLastUseAndDetailSurvive() {
        VmRecord v = vm("sf-3", VmState.CREATING);
        VmRecord fresh = new VmRecord(v.id(), v.hostId(), null, v.offering(), Map.of(), VmState.CREATING,
                v.resources(), v.createdAt(), null, 0, null);
        assertEquals(fresh, codec.read(codec.write(fresh), VmRecord.class));
    }
}
