package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.servicefarm.rest.internal.Responses.body;
import static org.servicefarm.rest.internal.Responses.json;
import static org.servicefarm.rest.internal.Responses.problem;

import java.util.Map;

import javax.ws.rs.core.Response;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.api.ConflictException;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;

import com.fasterxml.jackson.databind.JsonNode;

class VmAndHostResourceTest {

    private static final String NEW_HOST = """
            {"name":"host-d","driver":"libvirt","uri":"test:///tmp/d.xml",
             "capacity":{"vcpus":4,"memoryMiB":8192,"vms":6},"costPerHour":0.25,"securityZone":"dmz",
             "properties":{"bootMillis":800}}""";

    private final FixedServiceManager manager = new FixedServiceManager();
    private final VmResource vms = new VmResource(manager);
    private final HostResource hosts = new HostResource(manager);

    @Test
    void vmsListEveryFieldOfTheStateTable() {
        JsonNode vm = json(vms.vms()).get("vms").get(0);

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
        assertEquals("vm-1", json(vms.vm("vm-1")).get("id").asText());
        JsonNode problem = problem(vms.vm("vm-9"), 404);
        assertTrue(problem.get("detail").asText().contains("vm-9"));
    }

    @Test
    void hostsShowCapacityUseLoadCostZoneAndConnection() {
        JsonNode host = json(hosts.hosts()).get("hosts").get(0);

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
        assertEquals("host-a", json(hosts.host("host-a")).get("name").asText());
        problem(hosts.host("host-z"), 404);
    }

    @Test
    void registeringAHostIs201WithLocationAndStatus() {
        Response response = hosts.register(body(NEW_HOST));

        assertEquals(201, response.getStatus());
        assertEquals("api/v1/hosts/host-d", response.getLocation().toString());
        assertEquals("connecting", json(response).get("detail").asText());
        HostRecord host = manager.registered.get(0);
        assertEquals("host-d", host.name());
        assertEquals(8192, host.capacity().memoryMiB());
        assertEquals(0.25, host.costPerHour(), 1e-9);
        assertEquals("dmz", host.securityZone());
        assertEquals(Map.of("bootMillis", "800"), host.properties());
    }

    @Test
    void registeringAnExistingHostIs409() {
        problem(hosts.register(body(NEW_HOST.replace("host-d", "host-a"))), 409);
    }

    @Test
    void managersRefusalsMapTo400And409() {
        manager.registerFailure = new InvalidRequestException("no driver named xapi");
        problem(hosts.register(body(NEW_HOST)), 400);
        manager.registerFailure = new ConflictException("host-d is being removed");
        problem(hosts.register(body(NEW_HOST)), 409);
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
            "not json",
    })
    void malformedHostIs400AndNothingIsRegistered(String json) {
        problem(hosts.register(body(json)), 400);

        assertTrue(manager.registered.isEmpty());
    }

    @Test
    void removingAHostIs204Or404Or409() {
        assertEquals(204, hosts.unregister("host-a").getStatus());
        assertEquals(java.util.List.of("host-a"), manager.unregistered);

        problem(hosts.unregister("host-z"), 404);

        manager.unregisterFailure = new ConflictException("host-a runs 2 VMs");
        JsonNode problem = problem(hosts.unregister("host-a"), 409);
        assertEquals("host-a runs 2 VMs", problem.get("detail").asText());
    }
}
