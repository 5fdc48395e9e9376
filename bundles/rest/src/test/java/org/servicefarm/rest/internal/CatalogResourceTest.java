package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.servicefarm.rest.internal.Responses.json;
import static org.servicefarm.rest.internal.Responses.problem;

import javax.ws.rs.core.Response;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;

class CatalogResourceTest {

    private final FixedServiceManager manager = new FixedServiceManager();
    private final CatalogResource resource = new CatalogResource(manager);

    @Test
    void offeringsDefaultTo50AndAreShapedAsRequestBodies() {
        Response response = resource.offerings(null);

        assertEquals(200, response.getStatus());
        assertEquals(50, manager.lastOfferingsLimit);
        JsonNode offerings = json(response).get("offerings");
        assertEquals(2, offerings.size());
        JsonNode first = offerings.get(0);
        assertEquals("wiki", first.get("service").asText());
        assertEquals("debian-12", first.at("/environment/os").asText());
        assertEquals("high", first.get("securityLevel").asText());
        // Exactly the request-body fields, so that it can be posted as it is.
        assertEquals(java.util.Set.of("service", "version", "environment", "securityLevel"),
                iterable(first.fieldNames()));
    }

    @Test
    void offeringsPostedBackParseToTheOfferingsOwnRequest() {
        JsonNode blog = json(resource.offerings("2")).get("offerings").get(1);

        assertEquals(FixedServiceManager.BLOG.toRequest(), JsonMapping.serviceRequest(blog));
    }

    @Test
    void limitIsPassedToTheDirectory() {
        resource.offerings("1");

        assertEquals(1, manager.lastOfferingsLimit);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-3", "1001", "ten", "2.5"})
    void limitOutside1To1000Is400(String limit) {
        problem(resource.offerings(limit), 400);

        assertEquals(-1, manager.lastOfferingsLimit);
    }

    @Test
    void componentsListKindNameAndVersion() {
        JsonNode components = json(resource.components()).get("components");

        assertEquals("APPLICATION", components.get(0).get("kind").asText());
        assertEquals("wiki", components.get(0).get("name").asText());
        assertEquals("2.1", components.get(0).get("version").asText());
        assertFalse(components.get(1).has("version"));
    }

    @Test
    void rulesComeWithTheSecurityLevels() {
        JsonNode json = json(resource.rules());

        assertEquals("app:wiki requires runtime:php-8.2", json.get("rules").get(0).asText());
        assertEquals("high", json.get("securityLevels").get(1).asText());
    }

    private static java.util.Set<String> iterable(java.util.Iterator<String> names) {
        java.util.Set<String> set = new java.util.HashSet<>();
        names.forEachRemaining(set::add);
        return set;
    }
}
