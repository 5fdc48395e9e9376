package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** {@code /api/v1/images}, {@code /api/v1/components} and {@code /api/v1/popularity} over HTTP, through the whole stack. */
class ImageResourceTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();
    private final FixedImageService images = stack.images;

    @Test
    void listsImagesWithStateProgressAndUse() {
        JsonNode list = stack.get("/api/v1/images", Login.VIEWER).json(200).get("images");
        assertEquals(2, list.size());
        JsonNode ready = list.get(0);
        assertEquals("80bfb71f9ad57f2f281405fb", ready.get("id").asText());
        assertEquals("READY", ready.get("state").asText());
        assertEquals("BUILT", ready.get("kind").asText());
        assertEquals(100, ready.at("/progress/percent").asInt());
        assertEquals(4, ready.get("uses").asLong());
        assertEquals(1, ready.get("inUse").asInt());
        assertEquals("2026-01-01T10:05:00Z", ready.get("lastUsedAt").asText());
        assertEquals("wiki", ready.at("/offering/service").asText());
        assertFalse(ready.get("compositionOnly").asBoolean());
        assertEquals("KERNEL", ready.at("/artifacts/0/kind").asText());
        assertEquals(FixedImageService.SHA, ready.at("/artifacts/0/sha256").asText());
        assertEquals("console=ttyS0", ready.get("kernelArgs").asText());
        assertFalse(stack.get("/api/v1/images", Login.VIEWER).body().contains("/secret/"),
                "the appliance's paths are not shown");
    }

    @Test
    void oneImageShowsItsBuildsProgress() {
        JsonNode building = stack.get("/api/v1/images/0123456789abcdef01234567", Login.VIEWER).json(200);
        assertEquals("BUILDING", building.get("state").asText());
        assertEquals(3, building.at("/progress/step").asInt());
        assertEquals(5, building.at("/progress/steps").asInt());
        assertEquals("writing the initrd (5 layers)", building.at("/progress/doing").asText());
        assertEquals(75, building.at("/progress/percent").asInt());
        assertTrue(building.path("artifacts").isMissingNode(), "no files before it is ready");

        JsonNode missing = stack.get("/api/v1/images/no-such-image", Login.VIEWER).problem(404);
        assertTrue(missing.get("detail").asText().contains("no image with id no-such-image"), missing.toString());
    }

    @Test
    void aBuildIsAccepted202WithTheImagesAddress() {
        images.answer = request -> new BuildOutcome.Accepted(FixedImageService.BUILDING, FixedServiceManager.BLOG,
                List.of("version", "os"));
        Answer answer = stack.post("/api/v1/images", Login.OPERATOR, "{\"service\":\"blog\",\"tier\":\"free\"}");
        JsonNode json = answer.json(202);
        assertTrue(answer.header("Location").endsWith("/api/v1/images/0123456789abcdef01234567"),
                answer.header("Location"));
        assertEquals("ACCEPTED", json.get("outcome").asText());
        assertEquals("BUILDING", json.at("/image/state").asText());
        assertEquals("blog", json.at("/offering/service").asText());
        assertEquals("[\"version\",\"os\"]", json.get("filledIn").toString());
        assertEquals(List.of(new ServiceRequest("blog", null, null, null, "free", null)), images.builds);
    }

    @Test
    void aBuildForWhatIsNeverViableIsANeverProblemAndBadBodiesAre400() {
        JsonNode never = stack.post("/api/v1/images", Login.OPERATOR, "{\"service\":\"wiki\",\"environment\":"
                + "{\"os\":\"windows-2022\"}}").problem(404);
        assertEquals("NEVER", never.get("outcome").asText());
        assertEquals("no rule", never.get("detail").asText());

        JsonNode unknown = stack.post("/api/v1/images", Login.OPERATOR, "{\"service\":\"wiki\",\"colour\":1}")
                .problem(400);
        assertEquals("colour", unknown.get("field").asText());
        JsonNode name = stack.post("/api/v1/images", Login.OPERATOR, "{\"service\":\"../wiki\"}").problem(400);
        assertEquals("service", name.get("field").asText());
        assertEquals(415, stack.send("POST", "/api/v1/images", Login.OPERATOR.header(), "text/plain",
                "{\"service\":\"wiki\"}").status());
        assertEquals(1, images.builds.size(), "only the never-viable one reached the image service");
    }

    @Test
    void listsTheRepositorysComponents() {
        JsonNode component = stack.get("/api/v1/components", Login.VIEWER).json(200).at("/components/0");
        assertEquals("server/nginx/1.22.1-9+deb12u11", component.get("id").asText());
        assertEquals("SERVER", component.get("kind").asText());
        assertEquals("server:nginx-1.22", component.at("/provides/1").asText());
        assertEquals("abi:glibc-2.36", component.at("/needs/0").asText());
        assertEquals(3043982, component.at("/sizes/initrd-layer").asLong());
        assertEquals(3043982, component.get("sizeBytes").asLong());
    }

    @Test
    void showsRequestsPerOfferingOverTheWindow() {
        JsonNode demand = stack.get("/api/v1/popularity", Login.VIEWER).json(200).at("/offerings/0");
        assertEquals("wiki", demand.at("/offering/service").asText());
        assertEquals(12, demand.get("requests").asLong());
        assertEquals(600, demand.get("windowSeconds").asLong());
        assertEquals(10, demand.get("threshold").asLong());
        assertEquals("80bfb71f9ad57f2f281405fb", demand.get("prebuiltImage").asText());
    }
}
