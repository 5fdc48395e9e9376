package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.servicefarm.rest.internal.Responses.problem;

import java.util.HashMap;
import java.util.Map;

import javax.ws.rs.NotAllowedException;
import javax.ws.rs.NotFoundException;
import javax.ws.rs.core.Response;

import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;

import com.fasterxml.jackson.databind.JsonNode;

class RestFrontEndAndProblemMapperTest {

    private static RestConfig config(Map<String, Object> properties) {
        return Converters.standardConverter().convert(new HashMap<>(properties)).to(RestConfig.class);
    }

    @Test
    void addressUsesTheFrameworksHttpPortOr8181() {
        assertEquals("http://localhost:8181/api/v1", new RestFrontEnd(config(Map.of()), (String) null).address());
        assertEquals("http://localhost:9090/api/v1", new RestFrontEnd(config(Map.of()), "9090").address());
        assertEquals("http://localhost:8181/api/v1", new RestFrontEnd(config(Map.of()), "eighty").address());
    }

    @Test
    void configuredPortOrBaseUrlWins() {
        assertEquals("http://localhost:7000/api/v1",
                new RestFrontEnd(config(Map.of("httpPort", 7000)), "9090").address());
        assertEquals("https://farm.example.org/api/v1",
                new RestFrontEnd(config(Map.of("baseUrl", "https://farm.example.org/api/v1/")), "9090").address());
    }

    @Test
    void runtimeClientErrorsKeepTheirStatusAsProblems() {
        ProblemMapper mapper = new ProblemMapper();

        problem(mapper.toResponse(new NotFoundException()), 404);

        Response notAllowed = mapper.toResponse(new NotAllowedException("GET", new String[] {"POST"}));
        problem(notAllowed, 405);
        String allow = notAllowed.getHeaderString("Allow");
        assertTrue(allow.contains("GET") && allow.contains("POST"), allow);
    }

    @Test
    void anythingElseIs500WithoutItsMessageOrTrace() {
        Response response = new ProblemMapper().toResponse(new IllegalStateException("secret internals at x.y.Z"));

        JsonNode problem = problem(response, 500);
        assertFalse(problem.toString().contains("secret"), problem.toString());
        assertTrue(problem.get("detail").asText().contains("incident"));
    }
}
