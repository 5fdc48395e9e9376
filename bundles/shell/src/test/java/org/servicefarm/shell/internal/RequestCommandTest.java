package org.servicefarm.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.support.CommandException;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;

class RequestCommandTest {

    private final List<ServiceRequest> received = new ArrayList<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.22", "php-8.2", List.of()), "standard");

    /** A directory of one offering, wiki on debian-12, that finds every request viable. */
    private static DirectoryView directory() {
        return (DirectoryView) Proxy.newProxyInstance(RequestCommandTest.class.getClassLoader(),
                new Class<?>[] {DirectoryView.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "offerings" -> List.of(WIKI);
                    case "resolve" -> new Resolution.Viable(WIKI, List.of());
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /**
     * A ServiceManager test double: records requests, answers NEVER (with {@link #directory} to suggest from), or
     * refuses services named "bad".
     */
    private LocalServiceManager manager() {
        return (LocalServiceManager) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {LocalServiceManager.class}, (proxy, method, args) -> {
                    if (method.getName().equals("directory")) {
                        return directory();
                    }
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
        return command;
    }

    @Test
    void optionsBecomeTheRequest() throws Exception {
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
        // the suggestion: the patches and the security level the only offering lacks changed, the rest kept
        assertEquals("NEVER wiki: not in the catalog\n"
                + "  try         farm:request --version 2.1 --os debian-12 --runtime php-8.2 "
                + "--security-level standard --tier gold --deadline 1500 wiki\n", out.toString(StandardCharsets.UTF_8)
                .replace(System.lineSeparator(), "\n"));
    }

    /** What Karaf prints for the command's failure: it fails, and the user reads one plain line. */
    private String fails(RequestCommand command) {
        CommandException e = assertThrows(CommandException.class, command::execute);
        assertTrue(received.isEmpty(), "nothing was asked of the manager");
        assertEquals("", out.toString(StandardCharsets.UTF_8));
        return KarafConsole.shown(e);
    }

    @Test
    void badInputFailsNamingTheOptionInTheApisWords() {
        RequestCommand negative = command("wiki");
        negative.deadlineMs = -5L;
        assertEquals("Invalid option --deadline: deadline must not be negative: -5 ms\n", fails(negative));

        RequestCommand os = command("wiki");
        os.os = "a;id";
        assertEquals("Invalid option --os: environment.os must be 1-63 letters, digits, '.', '_', '+' or '-', "
                + "starting with a letter or digit\n", fails(os));

        RequestCommand patch = command("wiki");
        patch.patches = List.of("ok", "<p>");
        assertTrue(fails(patch).startsWith("Invalid option --patch: environment.patches "));

        RequestCommand tier = command("wiki");
        tier.tier = "gold\u001b[2J";
        assertTrue(fails(tier).startsWith("Invalid option --tier: tier must be"));

        assertTrue(fails(command("<wiki>")).startsWith("Invalid argument SERVICE: service must be"));
    }

    @Test
    void theManagersRefusalIsPrintedInItsWords() {
        RequestCommand gold = command("wiki");
        gold.tier = "platinum";
        gold.manager = refusing(new InvalidRequestException("tier", "unknown tier 'platinum'; tiers: [free, standard]"));
        assertEquals("Invalid option --tier: unknown tier 'platinum'; tiers: [free, standard]\n", fails(gold));

        RequestCommand unfielded = command("wiki");
        unfielded.manager = refusing(new InvalidRequestException("unknown service bad"));
        assertEquals("Invalid request: unknown service bad\n", fails(unfielded));
    }

    @Test
    void optionsAfterTheServiceAreRefusedSayingOptionsComeFirst() {
        RequestCommand late = command("wiki");
        late.trailing = List.of("--tier", "gold");
        assertEquals("Options come before SERVICE: farm:request [options] SERVICE, e.g. farm:request --tier "
                + "standard wiki\n", fails(late));
        RequestCommand two = command("wiki");
        two.trailing = List.of("blog");
        assertEquals("farm:request takes one SERVICE, not 2\n", fails(two));
    }

    @Test
    void offeringsRefuseALimitOutOfRange() {
        for (int limit : new int[] {0, -1, OfferingsCommand.MAX_LIMIT + 1}) {
            OfferingsCommand command = new OfferingsCommand();
            command.manager = manager();
            command.limit = limit;
            CommandException e = assertThrows(CommandException.class, command::execute);
            assertEquals("Invalid option --limit: limit must be from 1 to 1000, not " + limit + "\n",
                    KarafConsole.shown(e));
        }
    }

    /** A script piping farm:request into bin/client tells the three answers apart by the exit status alone. */
    @Test
    void theExitStatusTellsTheOutcome() throws Exception {
        RequestCommand never = command("wiki");
        assertEquals(RequestCommand.EXIT_NEVER, never.execute());
        assertEquals(69, RequestCommand.EXIT_NEVER, "sysexits.h's EX_UNAVAILABLE");

        RequestCommand later = command("wiki");
        later.manager = answering(new Outcome.RetryLater(Duration.ofSeconds(3), WIKI, List.of(), "creating",
                Duration.ZERO, "t-1"));
        assertEquals(RequestCommand.EXIT_RETRY_LATER, later.execute());
        assertEquals(75, RequestCommand.EXIT_RETRY_LATER, "sysexits.h's EX_TEMPFAIL");

        RequestCommand granted = command("wiki");
        granted.manager = answering(new Outcome.Granted(new Endpoint("10.0.0.7", 8080), "sf-1", "alpha",
                Activation.ACTIVE, WIKI, List.of(), Duration.ZERO));
        assertEquals(0, granted.execute());
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("GRANTED wiki at 10.0.0.7:8080"), out::toString);
    }

    private static LocalServiceManager answering(Outcome outcome) {
        return (LocalServiceManager) Proxy.newProxyInstance(RequestCommandTest.class.getClassLoader(),
                new Class<?>[] {LocalServiceManager.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("request")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    return outcome;
                });
    }

    private static LocalServiceManager refusing(RuntimeException e) {
        return (LocalServiceManager) Proxy.newProxyInstance(RequestCommandTest.class.getClassLoader(),
                new Class<?>[] {LocalServiceManager.class}, (proxy, method, args) -> {
                    throw e;
                });
    }
}
