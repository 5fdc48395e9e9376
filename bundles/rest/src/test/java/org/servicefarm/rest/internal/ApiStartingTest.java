package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
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
        assertEquals(ApiServing.READY, ApiServing.of(runtime(new long[] {1, 2, 3}), Set.of(1L, 2L, 3L), 1L, 0));
        // a resource the whiteboard refused will not come: it does not hold the API back
        assertEquals(ApiServing.READY, ApiServing.of(runtime(new long[] {1, 2}, 3), Set.of(1L, 2L, 3L), 1L, 0));
    }

    @Test
    void theApiIsNotReadyWhileAResourceWaitsTheCoreIsDownOrTheApplicationIsNotPublished() {
        ApiServing waiting = ApiServing.of(runtime(new long[] {1, 2}), Set.of(1L, 2L, 3L), 1L, 0);
        assertFalse(waiting.ready());
        assertEquals("the API is being published: 2 of 3 resources so far", waiting.detail());

        ApiServing noCore = ApiServing.of(runtime(new long[] {2, 3}), Set.of(2L, 3L), null, 0);
        assertFalse(noCore.ready());
        assertEquals("the farm's core is not running yet", noCore.detail());

        assertFalse(ApiServing.of(runtime(new long[] {2, 3}), Set.of(1L, 2L, 3L), 1L, 0).ready(),
                "the request resource registered, not served yet");
        ApiServing requestsFailed = ApiServing.of(runtime(new long[] {2}, 1), Set.of(1L, 2L), 1L, 0);
        assertFalse(requestsFailed.ready(), "the request resource refused: the API is not whole");
        assertEquals("the farm's core does not start: the appliance's log says why", requestsFailed.detail(),
                "not 'being published: 2 of 2 so far' for as long as it lasts");
        assertEquals("the API is not published yet",
                ApiServing.of(runtime(null), Set.of(1L), 1L, 0).detail());

        // every registered resource served, one more about to be registered (its component satisfied by now)
        ApiServing coming = ApiServing.of(runtime(new long[] {1, 2}), Set.of(1L, 2L), 1L, 1);
        assertFalse(coming.ready());
        assertEquals("the API is being published: 2 of 3 resources so far", coming.detail());
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

    @Test
    void aChangeWaitsForTheRequestsAlreadyLetThroughBeforeTheWhiteboardRebuildsTheApi() throws Exception {
        AtomicLong changeCount = new AtomicLong(7);
        ApiStartingFilter filter = new ApiStartingFilter(changeCount::get, () -> ApiServing.READY, System::nanoTime);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread request = requestInside(filter, release);
        assertEquals(1, filter.inFlight());

        long began = System.nanoTime();
        Thread change = new Thread(filter::resourceChanging);
        change.start();
        Thread.sleep(100);
        assertTrue(change.isAlive(), "the change waits for the request inside");
        assertFalse(filter.serving().ready(), "and none gets in meanwhile");
        release.countDown();
        change.join(5_000);
        request.join(5_000);
        assertFalse(change.isAlive());
        assertEquals(0, filter.inFlight());
        assertTrue(System.nanoTime() - began < ApiStartingFilter.DRAIN_LIMIT_NANOS, "not its limit");
    }

    @Test
    void aRequestThatDoesNotComeBackHoldsAChangeOnlyUpToItsLimit() throws Exception {
        ApiStartingFilter filter = new ApiStartingFilter(() -> 7, () -> ApiServing.READY, System::nanoTime);
        java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        Thread request = requestInside(filter, never);
        long began = System.nanoTime();
        filter.resourceChanging();
        long took = System.nanoTime() - began;
        assertTrue(took >= ApiStartingFilter.DRAIN_LIMIT_NANOS && took < 3 * ApiStartingFilter.DRAIN_LIMIT_NANOS,
                "waited " + took / 1_000_000 + " ms");
        never.countDown();
        request.join(5_000);
    }

    @Test
    void theApisResourcesItsExtensionsAndItsApplicationRebuildItOtherResourcesDoNot() {
        assertTrue(ApiStartingFilter.rebuildsTheApi(reference(Map.of("osgi.jaxrs.resource", true,
                "osgi.jaxrs.application.select", ApiApplication.SELECT))));
        assertFalse(ApiStartingFilter.rebuildsTheApi(reference(Map.of("osgi.jaxrs.resource", true,
                "osgi.jaxrs.name", "servicefarm-metrics"))), "the default application's");
        assertTrue(ApiStartingFilter.rebuildsTheApi(reference(Map.of("osgi.jaxrs.extension", true,
                "osgi.jaxrs.application.select", "(osgi.jaxrs.name=*)"))));
        assertFalse(ApiStartingFilter.rebuildsTheApi(reference(Map.of("osgi.jaxrs.extension", true))),
                "an extension of the default application alone");
        assertTrue(ApiStartingFilter.rebuildsTheApi(reference(Map.of("osgi.jaxrs.name", ApiApplication.NAME,
                "osgi.jaxrs.application.base", ApiApplication.BASE))));
        assertFalse(ApiStartingFilter.rebuildsTheApi(reference(Map.of("osgi.http.whiteboard.filter.pattern", "/*"))));
    }

    /** A request the filter let through, inside the API until {@code release} opens. */
    private static Thread requestInside(ApiStartingFilter filter, java.util.concurrent.CountDownLatch release)
            throws InterruptedException {
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
        Thread request = new Thread(() -> {
            try {
                filter.doFilter(apiRequest("/api/v1/vms"), anyResponse(), (req, res) -> {
                    inside.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        request.start();
        assertTrue(inside.await(5, java.util.concurrent.TimeUnit.SECONDS));
        return request;
    }

    private static javax.servlet.http.HttpServletRequest apiRequest(String uri) {
        return (javax.servlet.http.HttpServletRequest) java.lang.reflect.Proxy.newProxyInstance(
                ApiStartingTest.class.getClassLoader(), new Class<?>[] {javax.servlet.http.HttpServletRequest.class},
                (proxy, method, args) -> method.getName().equals("getPathInfo") ? uri : null);
    }

    private static javax.servlet.http.HttpServletResponse anyResponse() {
        return (javax.servlet.http.HttpServletResponse) java.lang.reflect.Proxy.newProxyInstance(
                ApiStartingTest.class.getClassLoader(), new Class<?>[] {javax.servlet.http.HttpServletResponse.class},
                (proxy, method, args) -> method.getReturnType() == int.class ? 200
                        : method.getReturnType() == boolean.class ? false : null);
    }

    private static org.osgi.framework.ServiceReference<?> reference(Map<String, Object> properties) {
        return (org.osgi.framework.ServiceReference<?>) java.lang.reflect.Proxy.newProxyInstance(
                ApiStartingTest.class.getClassLoader(), new Class<?>[] {org.osgi.framework.ServiceReference.class},
                (proxy, method, args) -> method.getName().equals("getProperty") ? properties.get((String) args[0])
                        : null);
    }

    // --- the same verdict inside the API's JAX-RS application ------------------------------------------------------

    @Test
    void insideTheApplicationAnAnswerIsRefusedWithTheSame503WhileTheApiIsNotWholeBeforeMatchingOrLogin() {
        AtomicReference<ApiServing> dto = new AtomicReference<>(new ApiServing(false, "the farm's core is not running "
                + "yet"));
        AtomicLong changeCount = new AtomicLong();
        ApiStartingRequestFilter check = new ApiStartingRequestFilter(new ApiStartingFilter(changeCount::get, dto::get,
                System::nanoTime));
        AtomicReference<javax.ws.rs.core.Response> aborted = new AtomicReference<>();
        Map<String, Object> attributes = new java.util.HashMap<>();
        javax.ws.rs.container.ContainerRequestContext request = (javax.ws.rs.container.ContainerRequestContext)
                java.lang.reflect.Proxy.newProxyInstance(ApiStartingTest.class.getClassLoader(),
                        new Class<?>[] {javax.ws.rs.container.ContainerRequestContext.class}, (proxy, method, args) -> {
                            if (method.getName().equals("abortWith")) {
                                aborted.set((javax.ws.rs.core.Response) args[0]);
                            }
                            return method.getName().equals("getProperty") ? attributes.get((String) args[0]) : null;
                        });
        check.filter(request);
        assertEquals(503, aborted.get().getStatus());
        assertEquals("1", aborted.get().getHeaderString("Retry-After"));
        assertEquals(Problems.MEDIA_TYPE, aborted.get().getMediaType().toString());
        assertTrue(aborted.get().getEntity().toString().contains("\"type\":\"urn:servicefarm:problem:starting\""),
                aborted.get().getEntity().toString());
        assertTrue(aborted.get().getEntity().toString()
                .contains("the farm's core is not running yet: try again in 1 s"));

        aborted.set(null);
        dto.set(ApiServing.READY);
        changeCount.incrementAndGet();
        check.filter(request);
        assertNull(aborted.get(), "a whole API: the request goes on to its resource");

        // let through by the servlet filter while whole, then the API changed: not judged twice (the change waits)
        dto.set(new ApiServing(false, "the farm's core is not running yet"));
        changeCount.incrementAndGet();
        attributes.put(ApiStartingFilter.LET_THROUGH, Boolean.TRUE);
        check.filter(request);
        assertNull(aborted.get());
    }

    // --- what a client gets --------------------------------------------------------------------------------------

    @Test
    void whileTheApiIsNotWholeEveryPathOfItAnswers503WithRetryAfterBeforeAnyLogin() {
        stack.publishing(new ApiServing(false, "the farm's core is not running yet"));
        // a path parameter or an escaped letter in its first segment still reaches the API: held too
        for (String path : new String[] {"/api/v1/vms", "/api/v1/nothing-here", "/api/", "/api;x=1/v1/vms",
                "/%61pi/v1/vms"}) {
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

    @Test
    void aRequestThatMeetsNoEndpointWhileTheWhiteboardRecreatesItIsAskedToComeAgainNotToldNotFound() {
        stack.publishing(ApiServing.READY); // the DTO already lists the resource: only CXF knows there is no endpoint
        int before = stack.manager.requests.size();
        stack.withoutApiEndpoint(() -> {
            for (Login login : new Login[] {null, Login.VIEWER}) {
                Answer answer = stack.get("/api/v1/vms", login);
                JsonNode problem = answer.problem(503);
                assertEquals("1", answer.header("Retry-After"), answer.toString());
                assertEquals("urn:servicefarm:problem:starting", problem.get("type").asText());
                assertEquals("the API is being published again: try again in 1 s", problem.get("detail").asText());
            }
            stack.post("/api/v1/requests", Login.OPERATOR, "{\"service\":\"wiki\"}").problem(503);
            assertEquals(before, stack.manager.requests.size(), "nothing reached the farm");
            assertEquals(200, stack.get("/elsewhere", Login.VIEWER).status(), "another application's endpoint stands");
        });
        // the API's own 404s (problems) and its answers go out as they are
        assertEquals("urn:servicefarm:problem:http-404",
                stack.get("/api/v1/nothing-here", Login.VIEWER).problem(404).get("type").asText());
        assertEquals(200, stack.get("/api/v1/vms", Login.VIEWER).status());
        assertEquals(404, stack.get("/api/v1/vms/sf-nothing", Login.VIEWER).status());
    }
}
