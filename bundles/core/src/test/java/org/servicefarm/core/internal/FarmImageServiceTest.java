package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ImageStatus;

/** The image face: a build for a request is resolved by the directory and built with its VM's guest ports. */
class FarmImageServiceTest {

    private final FarmImageService service = new FarmImageService();
    private final RecordingImageStore store = new RecordingImageStore();

    FarmImageServiceTest() {
        Map<String, Object> catalog = Farm.shippedConfig("org.servicefarm.catalog.cfg");
        CatalogDirectory directory = new CatalogDirectory();
        directory.configure(Farm.convert(catalog, CatalogDirectory.Config.class), catalog, null);
        GuestPorts ports = new GuestPorts();
        ports.configure(Farm.convert(Farm.shippedConfig("org.servicefarm.core.cfg"), GuestPorts.Config.class), null);
        service.directory = directory;
        service.ports = ports;
        service.imageStore = store;
        service.popularity = new Popularity();
    }

    @Test
    void buildsTheImageOfWhatTheRequestResolvesTo() {
        BuildOutcome.Accepted accepted = assertInstanceOf(BuildOutcome.Accepted.class,
                service.build(ServiceRequest.of("shop")));
        assertEquals("shop@3.1/debian-12/tomcat-10.1/java-21[standard]", accepted.offering().key());
        assertEquals(List.of("version", "os", "server", "runtime", "securityLevel"), accepted.filledIn());
        assertEquals(ImageStatus.State.BUILDING, accepted.image().state());
        assertEquals(List.of(new VmSpec.GuestService("shop", 8080)), store.builds.get(0).services(),
                "the shipped servicePorts give shop 8080");
    }

    @Test
    void aRequestThatIsNeverViableBuildsNothing() {
        BuildOutcome.Never never = assertInstanceOf(BuildOutcome.Never.class, service.build(new ServiceRequest("wiki",
                null, new Environment("windows-2022", null, null, null), null, null, null)));
        assertTrue(never.reason().contains("rule"), never.reason());
        assertEquals(List.of(), store.builds);
        assertThrows(InvalidRequestException.class, () -> service.build(null));
    }

    @Test
    void listsWhatTheStoreHolds() {
        service.build(ServiceRequest.of("wiki"));
        String id = RecordingImageStore.id(store.builds.get(0).offering());
        assertEquals(ImageStatus.State.BUILDING, service.image(id).orElseThrow().state());
        assertEquals(List.of(), service.components(), "a store without a repository lists no components");
    }
}
