package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code /api/v1/vms} and {@code /api/v1/hosts} over HTTP, through the whole stack. */
class VmAndHostResourceTest {

    private static final String NEW_HOST = """
            {"name":"host-d","driver":"libvirt","uri":"test:///tmp/d.xml",
             "capacity":{"vcpus":4,"memoryMiB":8192,"vms":6},"costPerHour":0.25,"securityZone":"dmz",
             "properties":{"bootMillis":800}}""";

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();
    private final FixedServiceManager manager = stack.manager;

    private Answer register(String json) {
        return stack.post("/api/v1/hosts", Login.ADMIN, json);
    }

    @Test
    void vmsComeAPageAtATimeInTheOrderOfTheirIdsOfOneStateOrHostIfAsked() {
        manager.vms.clear();
        for (int i = 5; i >= 1; i--) { // ids vm-1..vm-5, listed in the table in another order
            VmRecord vm = new VmRecord("vm-" + i, i % 2 == 0 ? "host-b" : "host-a", "img-wiki", FixedServiceManager.WIKI,
                    FixedServiceManager.WIKI_VM.endpoints(), i == 3 ? VmState.SLEEPING : VmState.ACTIVE,
                    FixedServiceManager.WIKI_VM.resources(), FixedServiceManager.WIKI_VM.createdAt(),
                    FixedServiceManager.WIKI_VM.lastUsedAt(), 1, null);
            manager.vms.add(vm);
        }
        try {
            JsonNode first = stack.get("/api/v1/vms?limit=2", Login.VIEWER).json(200);
            assertEquals(List.of("vm-1", "vm-2"), first.get("vms").findValuesAsText("id"));
            assertEquals("/api/v1/vms?after=vm-2&limit=2", first.get("next").asText());
            JsonNode second = stack.get(first.get("next").asText(), Login.VIEWER).json(200);
            assertEquals(List.of("vm-3", "vm-4"), second.get("vms").findValuesAsText("id"));
            JsonNode last = stack.get(second.get("next").asText(), Login.VIEWER).json(200);
            assertEquals(List.of("vm-5"), last.get("vms").findValuesAsText("id"));
            assertTrue(last.get("next") == null || last.get("next").isNull(), last.toString());

            assertEquals(List.of("vm-3"), stack.get("/api/v1/vms?state=sleeping", Login.VIEWER).json(200)
                    .get("vms").findValuesAsText("id"));
            JsonNode hostB = stack.get("/api/v1/vms?host=host-b&limit=1", Login.VIEWER).json(200);
            assertEquals(List.of("vm-2"), hostB.get("vms").findValuesAsText("id"));
            assertEquals("/api/v1/vms?after=vm-2&limit=1&host=host-b", hostB.get("next").asText());
            assertEquals(5, stack.get("/api/v1/vms", Login.VIEWER).json(200).get("vms").size(), "1,000 a page");

            assertTrue(stack.get("/api/v1/vms?state=RUNNING", Login.VIEWER).problem(400).get("detail").asText()
                    .startsWith("unknown VM state 'RUNNING'"));
            assertTrue(stack.get("/api/v1/vms?host=a%20b", Login.VIEWER).problem(400).get("detail").asText()
                    .contains("is not a host name"));
            assertTrue(stack.get("/api/v1/vms?limit=10001", Login.VIEWER).problem(400).get("detail").asText()
                    .startsWith("limit must be from 1 to 10000"));
        } finally {
            manager.vms.clear();
            manager.vms.add(FixedServiceManager.WIKI_VM);
        }
    }

    @Test
    void vmsListEveryFieldOfTheStateTable() {
        JsonNode vm = stack.get("/api/v1/vms", Login.VIEWER).json(200).get("vms").get(0);

        assertEquals("vm-1", vm.get("id").asText());
        assertEquals("ACTIVE", vm.get("state").asText());
        assertEquals("host-a", vm.get("host").asText());
        assertEquals("img-wiki", vm.get("image").asText());
        assertEquals("wiki", vm.at("/offering/service").asText());
        assertEquals(20001, vm.at("/endpoint/port").asInt());
        assertEquals(20001, vm.at("/endpoints/wiki/port").asInt());
        assertEquals("2026-01-01T10:00:00Z", vm.get("createdAt").asText());
        assertEquals("2026-01-01T10:05:00Z", vm.get("lastUsedAt").asText());
        assertEquals(3, vm.get("grants").asLong());
        assertEquals(512, vm.at("/resources/memoryMiB").asLong());
    }

    @Test
    void oneVmByIdOr404() {
        assertEquals("vm-1", stack.get("/api/v1/vms/vm-1", Login.VIEWER).json(200).get("id").asText());
        JsonNode problem = stack.get("/api/v1/vms/vm-9", Login.VIEWER).problem(404);
        assertTrue(problem.get("detail").asText().contains("vm-9"));
    }

    @Test
    void anUnknownIdIsRepeatedOnlyAsAnExcerpt() {
        String id = "x".repeat(2000);

        Answer answer = stack.get("/api/v1/vms/" + id, Login.VIEWER);

        answer.problem(404);
        assertFalse(answer.body().contains("x".repeat(Names.EXCERPT_LENGTH + 1)), "an excerpt at most: " + answer.body());
    }

    @Test
    void hostsShowCapacityUseLoadCostZoneAndConnection() {
        JsonNode host = stack.get("/api/v1/hosts", Login.VIEWER).json(200).get("hosts").get(0);

        assertEquals("host-a", host.get("name").asText());
        assertEquals("libvirt", host.get("driver").asText());
        assertEquals("test:///tmp/a.xml", host.get("uri").asText());
        assertEquals(10, host.at("/capacity/vms").asInt());
        assertEquals(5, host.at("/used/vms").asInt());
        assertEquals(6, host.at("/free/vcpus").asInt());
        assertEquals(0.5, host.get("load").asDouble(), 1e-9);
        assertEquals(0.5, host.get("costPerHour").asDouble(), 1e-9);
        assertEquals("standard", host.get("securityZone").asText());
        assertTrue(host.get("connected").asBoolean());
        assertFalse(host.has("properties"), "driver properties may hold credentials");
    }

    @Test
    void oneHostByNameOr404() {
        assertEquals("host-a", stack.get("/api/v1/hosts/host-a", Login.VIEWER).json(200).get("name").asText());
        stack.get("/api/v1/hosts/host-z", Login.VIEWER).problem(404);
    }

    @Test
    void registeringAHostIs201WithLocationAndStatus() {
        Answer response = register(NEW_HOST);

        JsonNode json = response.json(201);
        assertTrue(response.header("Location").endsWith("/api/v1/hosts/host-d"), response.header("Location"));
        assertEquals("connecting", json.get("detail").asText());
        HostRecord host = manager.registered.get(0);
        assertEquals("host-d", host.name());
        assertEquals(8192, host.capacity().memoryMiB());
        assertEquals(0.25, host.costPerHour(), 1e-9);
        assertEquals("dmz", host.securityZone());
        assertEquals(Map.of("bootMillis", "800"), host.properties());
    }

    @Test
    void propertyValuesMayBeStringsNumbersOrBooleans() {
        register(NEW_HOST.replace("{\"bootMillis\":800}", "{\"a\":\"x\",\"b\":1.5,\"c\":true}")).json(201);

        assertEquals(Map.of("a", "x", "b", "1.5", "c", "true"), manager.registered.get(0).properties());
    }

    @Test
    void registeringAnExistingHostIs409() {
        register(NEW_HOST.replace("host-d", "host-a")).problem(409);
    }

    @Test
    void managersRefusalsMapTo400And409() {
        manager.registerFailure = new InvalidRequestException("driver", "no driver named xapi");
        JsonNode invalid = register(NEW_HOST).problem(400);
        assertEquals("driver", invalid.get("field").asText());
        manager.registerFailure = new ConflictException("host-d is being removed");
        register(NEW_HOST).problem(409);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1}}",
            "{\"name\":\"bad name<\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1}}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\"}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":-1,\"memoryMiB\":1,\"vms\":1}}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1}}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1},\"costPerHour\":\"cheap\"}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1},\"costPerHour\":-2}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1},\"owner\":\"me\"}",
            "{\"name\":\"h\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1}}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1},\"properties\":{\"a\":{}}}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1},\"properties\":{\"a\":null}}",
            "{\"name\":\"h\",\"driver\":\"libvirt\",\"uri\":\"test:///x\",\"capacity\":{\"vcpus\":3000000000,\"memoryMiB\":1,\"vms\":1}}",
            "not json",
    })
    void malformedHostIs400AndNothingIsRegistered(String json) {
        register(json).problem(400);

        assertTrue(manager.registered.isEmpty());
    }

    @Test
    void removingAHostIs204Or404Or409() {
        assertEquals(204, stack.delete("/api/v1/hosts/host-a", Login.ADMIN).status());
        assertEquals(List.of("host-a"), manager.unregistered);

        stack.delete("/api/v1/hosts/host-z", Login.ADMIN).problem(404);

        manager.unregisterFailure = new ConflictException("host-a runs 2 VMs");
        JsonNode problem = stack.delete("/api/v1/hosts/host-a", Login.ADMIN).problem(409);
        assertEquals("host-a runs 2 VMs", problem.get("detail").asText());
    }

    @Test
    void drainingAndUndrainingAHostAnswerItsStatus() {
        JsonNode drained = stack.post("/api/v1/hosts/host-a/drain", Login.ADMIN, null).json(200);
        assertTrue(drained.get("drained").asBoolean());
        assertEquals(2, drained.at("/health/consecutiveFailures").asInt());
        assertEquals("define: boom", drained.at("/health/lastFailure").asText());
        assertEquals(5, drained.at("/securityLevels/standard").asInt());
        assertEquals(37, drained.at("/staging/availableBytes").asLong(), "its staging space as last read");
        assertEquals(96.3, drained.at("/staging/usedPercent").asDouble());
        assertEquals(Boolean.TRUE, manager.drained.get("host-a"));

        assertFalse(stack.delete("/api/v1/hosts/host-a/drain", Login.ADMIN).json(200).get("drained").asBoolean());
        assertEquals(Boolean.FALSE, manager.drained.get("host-a"));
        stack.post("/api/v1/hosts/nowhere/drain", Login.ADMIN, null).problem(404);
    }

    @Test
    void connectingAHostAnswersItsStatusAfterTheTry() {
        JsonNode host = stack.post("/api/v1/hosts/host-a/connect", Login.ADMIN, null).json(200);
        assertFalse(host.get("connected").asBoolean());
        assertEquals("cannot connect: no hypervisor answers; trying again in 5 s", host.get("detail").asText());
        assertEquals(List.of("host-a"), manager.connected);
        stack.post("/api/v1/hosts/nowhere/connect", Login.ADMIN, null).problem(404);
        stack.post("/api/v1/hosts/host-a/connect", Login.OPERATOR, null).problem(403);
        assertEquals(List.of("host-a"), manager.connected);
    }

    @Test
    void aHealthyHostShowsItsSpeedAndNoHealth() {
        JsonNode host = stack.get("/api/v1/hosts/host-a", Login.VIEWER).json(200);
        assertEquals(1.0, host.get("speed").asDouble(), 1e-9);
        assertFalse(host.get("drained").asBoolean());
        assertFalse(host.has("health"));
        assertFalse(host.has("staging"), "its staging space not read yet");
    }
}
