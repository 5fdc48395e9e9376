package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** The OpenAPI document says what the resources do: every resource, method, role and answer, nothing more. */
class OpenApiTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();

    @Test
    void everyResourceClassOfTheBundleIsDescribed() throws IOException {
        Set<Class<?>> found = new HashSet<>();
        Path classes = Path.of("target", "classes");
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = classes.relativize(file).toString().replace('/', '.').replaceAll("\\.class$", "");
                try {
                    Class<?> type = Class.forName(name, false, getClass().getClassLoader());
                    if (type.isAnnotationPresent(javax.ws.rs.Path.class)) {
                        found.add(type);
                    }
                } catch (ClassNotFoundException | LinkageError e) {
                    throw new AssertionError(name, e);
                }
            }
        }
        assertEquals(found, new HashSet<>(OpenApi.RESOURCES), "OpenApi.RESOURCES lists every @Path class");
    }

    @Test
    void everyResourceMethodIsAnOperationWithItsRolesAndAnswers() {
        JsonNode doc = stack.get("/api/v1/openapi.json", Login.VIEWER).json(200);
        assertEquals("3.0.3", doc.path("openapi").asText());
        int operations = 0;
        List<String> problems = new ArrayList<>();
        for (Class<?> resource : OpenApi.RESOURCES) {
            for (Method method : resource.getMethods()) {
                String verb = OpenApi.verb(method);
                if (verb == null) {
                    continue;
                }
                operations++;
                javax.ws.rs.Path sub = method.getAnnotation(javax.ws.rs.Path.class);
                String path = "/" + ApiApplication.BASE + "/" + resource.getAnnotation(javax.ws.rs.Path.class).value()
                        + (sub == null ? "" : "/" + sub.value());
                JsonNode operation = doc.path("paths").path(path).path(verb);
                String where = verb.toUpperCase() + " " + path + " (" + resource.getSimpleName() + "." + method.getName() + ")";
                if (operation.isMissingNode()) {
                    problems.add(where + " is not in the document");
                    continue;
                }
                List<String> roles = RoleFilter.rolesAllowed(method, resource);
                if (roles.isEmpty()) {
                    problems.add(where + " declares no role");
                }
                List<String> documented = new ArrayList<>();
                operation.path("x-roles").forEach(r -> documented.add(r.asText()));
                if (!documented.equals(roles)) {
                    problems.add(where + " documents roles " + documented + ", declares " + roles);
                }
                Answers answers = method.getAnnotation(Answers.class);
                if (answers == null || answers.value().length == 0) {
                    problems.add(where + " does not say what it answers (@Answers)");
                    continue;
                }
                for (String answer : answers.value()) {
                    if (!answer.matches("[1-5]\\d\\d .+")) {
                        problems.add(where + ": '" + answer + "' is not 'STATUS description'");
                    } else if (!operation.path("responses").has(answer.substring(0, 3))) {
                        problems.add(where + " lacks response " + answer.substring(0, 3));
                    }
                }
                for (String common : List.of("401", "403", "429", "500", "503")) {
                    if (!operation.path("responses").has(common)) {
                        problems.add(where + " lacks the common response " + common);
                    }
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        int documentedOperations = 0;
        for (JsonNode path : doc.path("paths")) {
            documentedOperations += path.size();
        }
        assertEquals(operations, documentedOperations, "the document has no operation the code lacks");
        assertEquals(31, operations, "the operations counted (a new one: raise this and add it to SecurityIT's matrix)");
    }

    @Test
    void detailsOfOneOperation() {
        JsonNode doc = stack.get("/api/v1/openapi.json", Login.VIEWER).json(200);
        JsonNode request = doc.at("/paths/~1api~1v1~1requests/post");
        assertEquals("[\"operator\"]", request.path("x-roles").toString());
        assertNotNull(request.at("/requestBody/content/application~1json").get("schema"));
        assertEquals("explain", request.at("/parameters/0/name").asText());
        assertEquals("boolean", request.at("/parameters/0/schema/type").asText());
        assertTrue(request.at("/responses/404/content").has(Problems.MEDIA_TYPE));
        assertTrue(request.at("/responses/503/content").has("application/json"), "RETRY_LATER is an outcome");
        JsonNode host = doc.at("/paths/~1api~1v1~1hosts~1{name}/delete");
        assertEquals("name", host.at("/parameters/0/name").asText());
        assertEquals("path", host.at("/parameters/0/in").asText());
        assertFalse(host.at("/responses/204").has("content"));
        assertEquals(401, stack.get("/api/v1/openapi.json", null).status());
    }

    @Test
    void statusListsTheFrontEndsAndTheConfigurationsRefused() {
        JsonNode status = stack.get("/api/v1/status", Login.VIEWER).json(200);
        assertEquals("rest", status.at("/frontends/0/name").asText());
        assertEquals("http://localhost:8181/api/v1", status.at("/frontends/0/address").asText());
        assertEquals(0, status.at("/refused").size(), "nothing refused");

        RefusedConfiguration typo = new RefusedConfiguration("org.servicefarm.catalog", "rule 'x': no verb",
                "the settings before it stay in force", Instant.parse("2026-11-27T18:00:00Z"));
        stack.status.addRefusal(typo);
        JsonNode refused = stack.get("/api/v1/status", Login.VIEWER).json(200).at("/refused");
        assertEquals(1, refused.size());
        assertEquals("org.servicefarm.catalog", refused.at("/0/pid").asText());
        assertEquals("rule 'x': no verb", refused.at("/0/reason").asText());
        assertEquals("the settings before it stay in force", refused.at("/0/inForce").asText());
        assertEquals("2026-11-27T18:00:00Z", refused.at("/0/since").asText());
        stack.status.removeRefusal(typo);
        assertEquals(0, stack.get("/api/v1/status", Login.VIEWER).json(200).at("/refused").size(), "mended");
    }
}
