package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiPredicate;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.ReferenceDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;
import org.osgi.util.promise.Promise;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The API's resources about to be registered hold it as not whole ({@link ComingResources}). */
class ComingResourcesTest {

    private static final String MANAGER = "org.servicefarm.api.ServiceManager";
    private static final String IMAGES = "org.servicefarm.api.images.ImageService";

    private final AtomicLong nanos = new AtomicLong();
    private final ComingResources coming = new ComingResources(nanos::get);
    private final List<Component> components = new ArrayList<>();
    /** The services registered now, by interface. */
    private final Set<String> registered = new java.util.HashSet<>(Set.of(MANAGER));
    private final BiPredicate<String, String> available = (type, filter) -> registered.contains(type);
    /** The component ids of the API's resources whose services are registered. */
    private final Set<Long> registeredComponents = new java.util.HashSet<>();

    /** A component, its one configuration's state, and the references it waits for. */
    private record Component(ComponentDescriptionDTO description, ComponentConfigurationDTO configuration) {
    }

    private Component component(String name, Map<String, Object> properties, int state, String... waitsFor) {
        ComponentDescriptionDTO description = new ComponentDescriptionDTO();
        description.name = name;
        description.properties = properties;
        description.references = Stream.of(waitsFor).map(type -> {
            ReferenceDTO reference = new ReferenceDTO();
            reference.name = "ref-" + type;
            reference.interfaceName = type;
            reference.cardinality = "1..1";
            return reference;
        }).toArray(ReferenceDTO[]::new);
        ComponentConfigurationDTO configuration = new ComponentConfigurationDTO();
        configuration.id = components.size() + 1;
        configuration.description = description;
        configuration.state = state;
        configuration.unsatisfiedReferences = state != ComponentConfigurationDTO.UNSATISFIED_REFERENCE ? null
                : Stream.of(waitsFor).map(type -> {
                    UnsatisfiedReferenceDTO reference = new UnsatisfiedReferenceDTO();
                    reference.name = "ref-" + type;
                    return reference;
                }).toArray(UnsatisfiedReferenceDTO[]::new);
        Component component = new Component(description, configuration);
        components.add(component);
        return component;
    }

    private static Map<String, Object> apiResource() {
        return Map.of("osgi.jaxrs.resource", Boolean.TRUE, "osgi.jaxrs.application.select", ApiApplication.SELECT);
    }

    private int count() {
        return coming.count(coming.expected(runtime(), null, available), registeredComponents);
    }

    @Test
    void aResourceWaitingOnlyForAServiceRegisteredNowIsComingOthersAreNot() {
        // the boot the 404 was seen at: the core's manager registered, the request resource taken in, the VM
        // resource's component not yet told of the manager
        component("RequestResource", apiResource(), ComponentConfigurationDTO.SATISFIED);
        registeredComponents.add(1L);
        component("VmResource", apiResource(), ComponentConfigurationDTO.UNSATISFIED_REFERENCE, MANAGER);
        // the image service absent (its provider stopped): its resources do not come, and must not hold the API
        component("ImageResource", apiResource(), ComponentConfigurationDTO.UNSATISFIED_REFERENCE, IMAGES);
        component("NeedsBoth", apiResource(), ComponentConfigurationDTO.UNSATISFIED_REFERENCE, MANAGER, IMAGES);
        // not resources of the API
        component("LoginFilter", Map.of("osgi.jaxrs.extension", true),
                ComponentConfigurationDTO.UNSATISFIED_REFERENCE, MANAGER);
        component("OtherApplications", Map.of("osgi.jaxrs.resource", "true", "osgi.jaxrs.application.select",
                "(osgi.jaxrs.name=other)"), ComponentConfigurationDTO.UNSATISFIED_REFERENCE, MANAGER);
        assertEquals(1, count());

        registered.add(IMAGES); // the image service came: its resources are coming too
        assertEquals(3, count());

        // the VM resource's service registered, the runtime's DTO not updated yet: not coming any longer
        registeredComponents.add(2L);
        assertEquals(2, count());
        // the runtime binding its reference: unsatisfied still, no reference missing
        registeredComponents.remove(2L);
        components.get(1).configuration().unsatisfiedReferences = new UnsatisfiedReferenceDTO[0];
        assertEquals(3, count());
        registeredComponents.add(2L);
        // the runtime counts it satisfied, its service not registered yet: coming still
        components.get(1).configuration().state = ComponentConfigurationDTO.SATISFIED;
        registeredComponents.remove(2L);
        assertEquals(3, count());
        registeredComponents.add(2L);
        assertEquals(2, count());
    }

    @Test
    void aResourceCountsAsComingForAtMostItsLimit() {
        component("VmResource", apiResource(), ComponentConfigurationDTO.UNSATISFIED_REFERENCE, MANAGER);
        assertEquals(1, count());
        nanos.addAndGet(ComingResources.LIMIT_NANOS - 1);
        assertEquals(1, count());
        nanos.addAndGet(1);
        assertEquals(0, count(), "the runtime never took the service in: the API is not held any longer");

        registered.remove(MANAGER); // no longer coming: forgotten, and counted afresh when it comes again
        assertEquals(0, count());
        registered.add(MANAGER);
        assertEquals(1, count());
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertEquals(1, count());
    }

    /** The properties the build gives each resource's component are the ones {@link ComingResources} looks for. */
    @Test
    void everyResourceComponentOfTheBundleIsToldAsAnApiResource() throws Exception {
        Path descriptors = Path.of("target/classes/OSGI-INF");
        List<String> resources = new ArrayList<>();
        try (Stream<Path> files = Files.list(descriptors)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith("Resource.xml")).toList()) {
                ComponentDescriptionDTO description = new ComponentDescriptionDTO();
                description.properties = properties(file);
                assertTrue(ComingResources.isApiResource(description), file.toString());
                resources.add(file.getFileName().toString());
            }
        }
        assertTrue(resources.size() >= 10, "the bundle's resources: " + resources);
        ComponentDescriptionDTO filter = new ComponentDescriptionDTO();
        filter.properties = properties(descriptors.resolve("org.servicefarm.rest.internal.LoginFilter.xml"));
        assertFalse(ComingResources.isApiResource(filter));
    }

    /** A component descriptor's properties, typed as the component runtime gives them. */
    private static Map<String, Object> properties(Path descriptor) throws Exception {
        NodeList nodes = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(descriptor.toFile())
                .getElementsByTagName("property");
        Map<String, Object> properties = new HashMap<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            Element property = (Element) nodes.item(i);
            String value = property.hasAttribute("value") ? property.getAttribute("value") : property.getTextContent();
            properties.put(property.getAttribute("name"),
                    "Boolean".equals(property.getAttribute("type")) ? Boolean.valueOf(value) : value);
        }
        return properties;
    }

    private ServiceComponentRuntime runtime() {
        return new ServiceComponentRuntime() {
            @Override
            public Collection<ComponentDescriptionDTO> getComponentDescriptionDTOs(Bundle... bundles) {
                return components.stream().map(Component::description).toList();
            }

            @Override
            public ComponentDescriptionDTO getComponentDescriptionDTO(Bundle bundle, String name) {
                return components.stream().map(Component::description).filter(d -> d.name.equals(name)).findFirst()
                        .orElse(null);
            }

            @Override
            public Collection<ComponentConfigurationDTO> getComponentConfigurationDTOs(
                    ComponentDescriptionDTO description) {
                return components.stream().filter(c -> c.description() == description)
                        .map(Component::configuration).toList();
            }

            @Override
            public boolean isComponentEnabled(ComponentDescriptionDTO description) {
                return true;
            }

            @Override
            public Promise<Void> enableComponent(ComponentDescriptionDTO description) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Promise<Void> disableComponent(ComponentDescriptionDTO description) {
                throw new UnsupportedOperationException();
            }
        };
    }
}
