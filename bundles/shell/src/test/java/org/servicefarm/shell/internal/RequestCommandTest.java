package org.servicefarm.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.CatalogComponent.Kind;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;

class RequestCommandTest {

    private final List<ServiceRequest> received = new ArrayList<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    /** A ServiceManager test double: records requests, answers NEVER, or refuses services named "bad". */
    private ServiceManager manager() {
        return (ServiceManager) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceManager.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("request")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    ServiceRequest request = (ServiceRequest) args[0];
                    if (request.service().equals("bad")) {
                        throw new InvalidRequestException("unknown service bad");
                    }
                    received.add(request);
                    return new Outcome.Never("not in the catalog", Duration.ZERO);
                });
    }

    private RequestCommand command(String service) {
        RequestCommand command = new RequestCommand();
        command.manager = manager();
        command.service = service;
        command.out = new PrintStream(out, true, StandardCharsets.UTF_8);
        command.err = new PrintStream(err, true, StandardCharsets.UTF_8);
        return command;
    }

    @Test
    void optionsBecomeTheRequest() {
        RequestCommand command = command("wiki");
        command.version = "2.1";
        command.os = "debian-12";
        command.runtime = "php-8.2";
        command.patches = List.of("p2", "p1");
        command.securityLevel = "high";
        command.tier = "gold";
        command.deadlineMs = 1500L;

        command.execute();

        ServiceRequest request = received.get(0);
        assertEquals("wiki", request.service());
        assertEquals("2.1", request.version());
        assertEquals("debian-12", request.environment().os());
        assertEquals(null, request.environment().server());
        assertEquals("php-8.2", request.environment().runtime());
        assertEquals(List.of("p1", "p2"), request.environment().patches());
        assertEquals("high", request.securityLevel());
        assertEquals("gold", request.tier());
        assertEquals(Duration.ofMillis(1500), request.deadline());
        assertEquals("NEVER wiki: not in the catalog\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badInputIsOnePlainLine() {
        RequestCommand negative = command("wiki");
        negative.deadlineMs = -5L;
        negative.execute();
        command("bad").execute();

        List<String> lines = err.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(List.of("Invalid request: deadline must not be negative: -5 ms",
                "Invalid request: unknown service bad"), lines);
        assertTrue(received.isEmpty());
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void completionNamesComeFromTheDirectoryByKindWithoutDuplicates() {
        DirectoryView directory = (DirectoryView) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {DirectoryView.class}, (proxy, method, args) -> List.of(
                        new CatalogComponent(Kind.APPLICATION, "wiki", "2.1"),
                        new CatalogComponent(Kind.APPLICATION, "wiki", "2.0"),
                        new CatalogComponent(Kind.APPLICATION, "blog", "1.0"),
                        new CatalogComponent(Kind.OS, "debian-12", null),
                        new CatalogComponent(Kind.PATCH, "cve-1", null)));

        assertEquals(List.of("blog", "wiki"), Completions.names(directory, Kind.APPLICATION));
        assertEquals(List.of("debian-12"), Completions.names(directory, Kind.OS));
        assertEquals(List.of("cve-1"), Completions.names(directory, Kind.PATCH));
        assertEquals(List.of(), Completions.names(directory, Kind.SERVER));
    }
}
