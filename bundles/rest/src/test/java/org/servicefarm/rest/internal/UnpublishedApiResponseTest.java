package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.servlet.http.HttpServletResponse;

import org.junit.jupiter.api.Test;

/** Which answers {@link UnpublishedApiResponse} takes for CXF's "No service was found", and that all others go on. */
class UnpublishedApiResponseTest {

    /** What reached the real response, one "method args" entry a call. */
    private final List<String> sent = new ArrayList<>();
    private final HttpServletResponse real = (HttpServletResponse) Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] {HttpServletResponse.class}, (proxy, method, args) -> {
                sent.add(method.getName() + (args == null ? "" : " " + Arrays.toString(args)));
                return method.getReturnType() == int.class ? 200 : method.getReturnType() == boolean.class ? false
                        : null;
            });
    private final UnpublishedApiResponse response = new UnpublishedApiResponse(real);

    @Test
    void cxfsNotFoundPageIsHeldBackWhole() throws Exception {
        response.setStatus(404); // CXF's ServletController.generateNotFound, call for call
        response.setContentType("text/html");
        response.getWriter().write("<html><body>No service was found.</body></html>");
        response.getWriter().flush();
        response.done();
        assertTrue(response.unpublished());
        assertEquals(404, response.getStatus());
        assertEquals(List.of("isCommitted"), sent, "nothing of it reached the client");
    }

    @Test
    void theApisOwn404sGoOnAsTheyAre() throws Exception {
        response.setStatus(404);
        response.setContentType("application/problem+json");
        response.getOutputStream();
        assertFalse(response.unpublished());
        assertEquals(List.of("isCommitted", "setStatus [404]", "setContentType [application/problem+json]",
                "getOutputStream"), sent);
    }

    @Test
    void aHeld404GoesOnBeforeAnythingIsSentAndWhenTheRequestIsDone() throws Exception {
        response.setStatus(404);
        response.setHeader("Content-Type", "text/html"); // not how CXF's page is made: sent as it is
        response.flushBuffer();
        assertEquals(List.of("isCommitted", "setHeader [Content-Type, text/html]", "setStatus [404]", "flushBuffer"),
                sent);

        sent.clear();
        UnpublishedApiResponse bare = new UnpublishedApiResponse(real);
        bare.setStatus(404); // a 404 with nothing more
        bare.done();
        assertFalse(bare.unpublished());
        assertEquals(List.of("isCommitted", "setStatus [404]"), sent);
    }

    @Test
    void otherStatusesAndHtmlWithoutA404AreNotHeld() {
        response.setStatus(200);
        response.setContentType("text/html; charset=UTF-8"); // CXF's service list at /api: not this filter's
        assertFalse(response.unpublished());
        assertEquals(List.of("setStatus [200]", "setContentType [text/html; charset=UTF-8]"), sent);
    }
}
