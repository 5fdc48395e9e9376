package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.osgi.service.jaxrs.runtime.dto.ApplicationDTO;
import org.osgi.service.jaxrs.runtime.dto.FailedResourceDTO;
import org.osgi.service.jaxrs.runtime.dto.ResourceDTO;
import org.osgi.service.jaxrs.runtime.dto.RuntimeDTO;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** The API answers 503 "ask again" while the whiteboard does not serve it whole ({@link ApiStartingFilter}). */
class ApiStartingTest {

    @RegisterExtension
    static final RestStack stack = RestStack.perClass();

    // --- the verdict on the whiteboard's DTO --------------------------------------------------------------------

    private static RuntimeDTO runtime(long[] served, long... failed) {
        RuntimeDTO runtime = new RuntimeDTO();
        ApplicationDTO defaultApplication = new ApplicationDTO();
        defaultApplication.name = ".default";
        defaultApplication.resourceDTOs = new ResourceDTO[] {resource(99)};
        ApplicationDTO api = new ApplicationDTO();
        api.name = ApiApplication.NAME;
        api.resourceDTOs = served == null ? null : java.util.Arrays.stream(served)
                .mapToObj(ApiStartingTest::resource).toArray(ResourceDTO[]::new);
        runtime.applicationDTOs = served == null ? new ApplicationDTO[] {defaultApplication}
                : new ApplicationDTO[] {defaultApplication, api};
        runtime.failedResourceDTOs = java.util.Arrays.stream(failed).mapToObj(id -> {
            FailedResourceDTO dto = new FailedResourceDTO();
            dto.serviceId = id;
            return dto;
        }).toArray(FailedResourceDTO[]::new);
        return runtime;
    }

    private static ResourceDTO resource(long id) {
        ResourceDTO dto = new ResourceDTO();
        dto.serviceId = id;
        return dto;
    }

    @Test
    void theApiIsReadyWhenEveryResourceRegisteredForItIsServedOrRefused() {
        assertEquals(ApiServing.READY, ApiServing.of(runtime(new long[] {1, 2, 3}), Set.of(1L, 2L, 3L), 1L));
        // a resource the whiteboard refused will not come: it does not hold the API back
        assertEquals(ApiServing.READY, ApiServing.of(runtime(new long[] {1, 2}, 3), Set.of(1L, 2L, 3L), 1L));
    }

    @Test
    void theApiIsNotReadyWhileAResourceWaitsTheCoreIsDownOrTheApplicationIsNotPublished() {
        ApiServing waiting = ApiServing.of(runtime(new long[] {1, 2}), Set.of(1L, 2L, 3L), 1L);
        assertFalse(waiting.ready());
        assertEquals("the API is being published: 2 of 3 resources so far", waiting.detail());

        ApiServing noCore = ApiServing.of(runtime(new long[] {2, 3}), Set.of(2L, 3L), null);
        assertFalse(noCore.ready());
        assertEquals("the farm's core is not running yet", noCore.detail());

        assertFalse(ApiServing.of(runtime(new long[] {2, 3}), Set.of(1L, 2L, 3L), 1L).ready(),
                "the request resource registered, not served yet");
        assertFalse(ApiServing.of(runtime(new long[] {2}, 1), Set.of(1L, 2L), 1L).ready(),
                "the request resource refused: the API is not whole");
        assertEquals("the API is not published yet",
                ApiServing.of(runtime(null), Set.of(1L), 1L).detail());
    }

    // --- when the verdict is read again --------------------------------------------------------------------------

    @Test
    void aReadyVerdictIsKeptUntilTheWhiteboardChangesAndANotReadyOneIsReadEachTime() {
        AtomicLong changeCount = new AtomicLong(7);
        AtomicReference<ApiServing> dto = new AtomicReference<>(new ApiServing(false, "starting"));
        AtomicInteger reads = new AtomicInteger();
        ApiStartingFilter filter = new ApiStartingFilter(changeCount::get, () -> {
            reads.incrementAndGet();
            return dto.get();
        }, () -> 0);

        assertFalse(filter.serving().ready());
        assertFalse(filter.serving().ready());
        assertEquals(2, reads.get(), "not ready: read each time");
        dto.set(ApiServing.READY);
        assertTrue(filter.serving().ready());
        assertTrue(filter.serving().ready());
        assertEquals(3, reads.get(), "ready: kept while the change count stays");
        changeCount.incrementAndGet();
        assertTrue(filter.serving().ready());
        assertEquals(4, reads.get(), "the whiteboard changed: read again");
    }

    @Test
    void aResourceComingOrGoingHoldsTheApiUntilTheWhiteboardTookItInOrAtMostTwoSeconds() {
        AtomicLong changeCount = new AtomicLong(7);
        AtomicLong nanos = new AtomicLong();
        ApiStartingFilter filter = new ApiStartingFilter(changeCount::get, () -> ApiServing.READY, nanos::get);
        assertTrue(filter.serving().ready());

        filter.resourceChanging(); // the whiteboard rebuilds the API's application inside this event
        assertFalse(filter.serving().ready());
        changeCount.incrementAndGet(); // rebuilt
        assertTrue(filter.serving().ready());

        filter.resourceChanging();
        nanos.addAndGet(ApiStartingFilter.FLUX_LIMIT_NANOS - 1);
        assertFalse(filter.serving().ready());
        nanos.addAndGet(1); // a change the whiteboard never counted holds nothing for long
        assertTrue(filter.serving().ready());
    }

    // --- what a client gets --------------------------------------------------------------------------------------

    @Test
    void whileTheApiIsNotWholeEveryPathOfItAnswers503WithRetryAfterBeforeAnyLogin() {
        stack.publishing(new ApiServing(false, "the farm's core is not running yet"));
        for (String path : new String[] {"/api/v1/vms", "/api/v1/nothing-here", "/api"}) {
            for (Login login : new Login[] {null, Login.VIEWER}) {
                Answer answer = stack.get(path, login);
                JsonNode problem = answer.problem(503);
                assertEquals("1", answer.header("Retry-After"), answer.toString());
                assertEquals("urn:servicefarm:problem:starting", problem.get("type").asText());
                assertEquals("the farm's core is not running yet: try again in 1 s", problem.get("detail").asText());
                assertNull(answer.header("WWW-Authenticate"));
            }
        }
        stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":\"wiki\"}").problem(503);
        assertEquals(java.util.List.of(), stack.manager.requests, "nothing reached the farm");
        // other applications (the dashboard's /events, /metrics) are theirs to answer
        assertEquals(200, stack.get("/elsewhere", Login.VIEWER).status());
        assertEquals(404, stack.get("/apix", Login.VIEWER).status());

        stack.publishing(ApiServing.READY);
        assertEquals(200, stack.get("/api/v1/vms", Login.VIEWER).status());
    }
}
