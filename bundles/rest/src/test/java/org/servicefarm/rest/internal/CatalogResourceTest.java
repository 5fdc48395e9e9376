package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code GET /api/v1/catalog/...} over HTTP, through the whole stack. */
class CatalogResourceTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();
    private final FixedServiceManager manager = stack.manager;

    private JsonNode offerings(String query) {
        return stack.get("/api/v1/catalog/offerings" + query, Login.VIEWER).json(200).get("offerings");
    }

    @Test
    void offeringsDefaultTo50AndAreShapedAsRequestBodies() {
        JsonNode offerings = offerings("");

        assertEquals(50, manager.lastOfferingsLimit);
        assertEquals(2, offerings.size());
        JsonNode first = offerings.get(0);
        assertEquals("wiki", first.get("service").asText());
        assertEquals("debian-12", first.at("/environment/os").asText());
        assertEquals("high", first.get("securityLevel").asText());
        // Exactly the request-body fields, so that it can be posted as it is.
        Set<String> fields = new HashSet<>();
        first.fieldNames().forEachRemaining(fields::add);
        assertEquals(Set.of("service", "version", "environment", "securityLevel"), fields);
    }

    @Test
    void offeringsPostedBackParseToTheOfferingsOwnRequest() {
        JsonNode blog = offerings("?limit=2").get(1);

        stack.post("/api/v1/requests", Login.OPERATOR, blog.toString()).problem(404); // the fixed manager: NEVER

        assertEquals(FixedServiceManager.BLOG.toRequest(), manager.requests.get(0));
    }

    @Test
    void limitIsPassedToTheDirectory() {
        offerings("?limit=1");

        assertEquals(1, manager.lastOfferingsLimit);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-3", "1001", "ten", "2.5"})
    void limitOutside1To1000Is400(String limit) {
        JsonNode problem = stack.get("/api/v1/catalog/offerings?limit=" + limit, Login.VIEWER).problem(400);

        assertEquals("limit", problem.get("field").asText());
        assertEquals(-1, manager.lastOfferingsLimit);
    }

    @Test
    void componentsListKindNameAndVersion() {
        JsonNode components = stack.get("/api/v1/catalog/components", Login.VIEWER).json(200).get("components");

        assertEquals("APPLICATION", components.get(0).get("kind").asText());
        assertEquals("wiki", components.get(0).get("name").asText());
        assertEquals("2.1", components.get(0).get("version").asText());
        assertFalse(components.get(1).has("version"));
    }

    @Test
    void rulesComeWithTheSecurityLevels() {
        JsonNode json = stack.get("/api/v1/catalog/rules", Login.VIEWER).json(200);

        assertEquals("app:wiki requires runtime:php-8.2", json.get("rules").get(0).asText());
        assertEquals("high", json.get("securityLevels").get(1).asText());
    }
}
