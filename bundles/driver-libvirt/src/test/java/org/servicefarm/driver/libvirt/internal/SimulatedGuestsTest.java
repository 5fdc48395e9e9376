package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.Endpoint;

/** The simulated guests' HTTP answers, and their listeners' lifetime. */
class SimulatedGuestsTest {

    private static String answer(String request) {
        return new String(SimulatedGuests.response(request, "the page\n".getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8);
    }

    @Test
    void getOfTheRootIsThePageAndEverythingElseAnError() {
        String page = answer("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(page.startsWith("HTTP/1.1 200 OK\r\nServer: servicefarm-simulated-guest\r\n"), page);
        assertTrue(page.endsWith("Content-Length: 9\r\nConnection: close\r\n\r\nthe page\n"), page);
        assertTrue(answer("HEAD / HTTP/1.0\r\n\r\n").endsWith("\r\n\r\n"), "HEAD: the headers alone");
        assertTrue(answer("GET /admin HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 404 "));
        String post = answer("POST / HTTP/1.1\r\n\r\n");
        assertTrue(post.startsWith("HTTP/1.1 405 ") && post.contains("Allow: GET, HEAD\r\n"), post);
        assertTrue(answer("\u0000garbage").startsWith("HTTP/1.1 405 "), "anything else still gets a status line");
    }

    @Test
    void aListenerAnswersOnlyWhileToldToAndFreesItsPortWhenClosed() throws Exception {
        int port = Fixtures.freePorts(1);
        Endpoint endpoint = new Endpoint("127.0.0.1", port);
        try (SimulatedGuests guests = new SimulatedGuests()) {
            SimulatedGuests.Listener listener = guests.listen(new InetSocketAddress("127.0.0.1", port), "hello\n");
            assertTrue(SimulatedAnswers.get(endpoint).isEmpty(), "silent until told");
            listener.answerFrom(System.nanoTime());
            assertEquals("hello\n", SimulatedAnswers.await(endpoint).body());
            listener.silence();
            assertTrue(SimulatedAnswers.get(endpoint).isEmpty());
            listener.close();
            assertTrue(PortAllocator.bindable(new InetSocketAddress("127.0.0.1", port)));
        }
    }
}
