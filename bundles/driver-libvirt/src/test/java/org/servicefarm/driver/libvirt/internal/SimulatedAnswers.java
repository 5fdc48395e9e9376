package org.servicefarm.driver.libvirt.internal;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

import org.servicefarm.api.Endpoint;

/** A client of simulated guests' endpoints, for the driver's tests. */
final class SimulatedAnswers {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private static final Duration PATIENCE = Duration.ofSeconds(10);

    private SimulatedAnswers() {
    }

    /** The answer to {@code GET /} now, or empty when the endpoint does not answer. */
    static Optional<HttpResponse<String>> get(Endpoint endpoint) throws InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + endpoint + "/"))
                .timeout(Duration.ofSeconds(1)).build();
        try {
            return Optional.of(HTTP.send(request, HttpResponse.BodyHandlers.ofString()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The first answer within a few seconds. */
    static HttpResponse<String> await(Endpoint endpoint) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<HttpResponse<String>> answer = get(endpoint);
            if (answer.isPresent()) {
                return answer.get();
            }
            LockSupport.parkNanos(20_000_000);
        }
        return fail(endpoint + " did not answer within " + PATIENCE);
    }

    /** Waits until the endpoint stops answering (libvirt's events reach the simulation a moment later). */
    static void awaitSilence(Endpoint endpoint) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            if (get(endpoint).isEmpty()) {
                return;
            }
            LockSupport.parkNanos(20_000_000);
        }
        fail(endpoint + " still answers after " + PATIENCE);
    }
}
