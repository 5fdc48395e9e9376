package org.servicefarm.bench.floor.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.core.Response;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsResource;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * {@code POST /bench/floor}: the floor of the warm-grant benchmark. It does what the REST API's
 * {@code POST /api/v1/requests} does around the service manager and nothing else: it is a
 * resource of the JAX-RS whiteboard's default application, which the whiteboard builds as it builds
 * the API's own (the same HTTP stack, CXF and the same extensions: login, roles, JSON), reads the raw body with the same cap, parses it as strictly with Jackson, and
 * answers a JSON body of the same shape, which is constant. The difference between the two is
 * then the cost of the service manager's warm path plus the REST bundle's mapping. Like the API's
 * request method it needs the operator role: the REST bundle's role check refuses a method that
 * declares none.
 */
@Component(service = FloorResource.class)
@JaxrsResource
@JaxrsName("servicefarm-bench-floor")
@Path("bench/floor")
public class FloorResource {

    private static final int MAX_BYTES = 64 * 1024;

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** A grant as POST /api/v1/requests answers it; written once, since it never changes. */
    private static final byte[] CONSTANT_GRANT = ("{\"outcome\":\"GRANTED\",\"endpoint\":{\"host\":\"127.0.0.1\","
            + "\"port\":8080},\"vmId\":\"floor\",\"hostId\":\"floor\",\"activation\":\"ACTIVE\",\"elapsedMs\":0}")
            .getBytes(StandardCharsets.UTF_8);

    @POST
    @RolesAllowed("operator")
    public Response floor(InputStream body) throws IOException {
        byte[] bytes = body == null ? new byte[0] : body.readNBytes(MAX_BYTES + 1);
        if (bytes.length == 0 || bytes.length > MAX_BYTES) {
            return badRequest("a JSON object of at most " + MAX_BYTES + " bytes is expected");
        }
        JsonNode request;
        try {
            request = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            return badRequest("malformed JSON: " + e.getOriginalMessage());
        }
        // The same first check the real endpoint makes, so that a wrong body fails here too.
        if (request == null || !request.isObject() || !request.path("service").isTextual()) {
            return badRequest("a JSON object with a \"service\" string is expected");
        }
        return Response.ok(CONSTANT_GRANT, "application/json").build();
    }

    private static Response badRequest(String detail) {
        String problem = "{\"title\":\"Bad Request\",\"status\":400,\"detail\":" + quoted(detail) + "}";
        return Response.status(Response.Status.BAD_REQUEST).type("application/problem+json")
                .entity(problem.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static String quoted(String text) {
        try {
            return MAPPER.writeValueAsString(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
