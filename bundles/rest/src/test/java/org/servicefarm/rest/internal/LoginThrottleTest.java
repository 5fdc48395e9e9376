package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.rest.internal.LoginThrottle.Limits;
import org.servicefarm.rest.internal.RestStack.Login;

import com.fasterxml.jackson.databind.JsonNode;

/** Failed logins slowed per user at an address, per address and per user, on a clock the test moves. */
class LoginThrottleTest {

    private static final Limits LIMITS = new Limits(5, 20, 50, Duration.ofMinutes(15), Duration.ofSeconds(1),
            Duration.ofSeconds(30), 10_000);

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final LoginThrottle throttle = new LoginThrottle(LIMITS, nanos::get);

    @BeforeEach
    void resetCount() {
        TestLoginModule.LOGINS.set(0);
    }

    private void seconds(long seconds) {
        nanos.addAndGet(seconds * 1_000_000_000L);
    }

    private void fail(String user, String address, int times) {
        for (int i = 0; i < times; i++) {
            throttle.failed(user, address);
        }
    }

    @Test
    void aUserAtAnAddressWaitsAfterFiveFailuresDoublingUpTo30Seconds() {
        fail("alice", "10.0.0.1", 4);
        assertEquals(0, throttle.secondsToWait("alice", "10.0.0.1"));

        long[] waits = {1, 2, 4, 8, 16, 30, 30};
        for (long wait : waits) {
            throttle.failed("alice", "10.0.0.1");
            assertEquals(wait, throttle.secondsToWait("alice", "10.0.0.1"));
            seconds(wait - 1);
            assertEquals(1, throttle.secondsToWait("alice", "10.0.0.1"), "still waiting a second before the end");
            seconds(1);
            assertEquals(0, throttle.secondsToWait("alice", "10.0.0.1"), "free to try once the wait is over");
        }
        assertEquals(0, throttle.secondsToWait("alice", "10.0.0.2"), "alice elsewhere is not slowed yet");
        assertEquals(0, throttle.secondsToWait("bob", "10.0.0.1"), "bob at the same address is not slowed yet");
    }

    @Test
    void theCountStartsOverAfterAWindowWithoutFailure() {
        fail("alice", "10.0.0.1", 5);
        seconds(15 * 60);

        throttle.failed("alice", "10.0.0.1");

        assertEquals(0, throttle.secondsToWait("alice", "10.0.0.1"));
    }

    @Test
    void anAddressTryingManyUsersWaitsAfter20Failures() {
        for (int i = 0; i < 20; i++) {
            throttle.failed("user-" + i, "10.0.0.9");
        }

        assertEquals(1, throttle.secondsToWait("somebody-new", "10.0.0.9"));
        assertEquals(0, throttle.secondsToWait("somebody-new", "10.0.0.8"));
    }

    @Test
    void aUserTriedFromManyAddressesWaitsAfter50FailuresButForAtMost30Seconds() {
        for (int i = 0; i < 49; i++) {
            throttle.failed("alice", "10.1.0." + i);
        }
        assertEquals(0, throttle.secondsToWait("alice", "10.2.0.1"));

        for (int i = 49; i < 100; i++) {
            throttle.failed("alice", "10.1.0." + i);
        }

        assertEquals(30, throttle.secondsToWait("alice", "10.2.0.1"), "capped, whatever the attackers did");
        seconds(30);
        assertEquals(0, throttle.secondsToWait("alice", "10.2.0.1"));
    }

    @Test
    void aSuccessClearsItsPairOnly() {
        fail("alice", "10.0.0.1", 5);
        for (int i = 0; i < 20; i++) {
            throttle.failed("user-" + i, "10.0.0.2");
        }

        throttle.succeeded("alice", "10.0.0.1");
        throttle.succeeded("user-0", "10.0.0.2");

        assertEquals(0, throttle.secondsToWait("alice", "10.0.0.1"));
        assertEquals(1, throttle.secondsToWait("user-0", "10.0.0.2"), "the address's failures are not the user's to forgive");
    }

    @Test
    void madeUpNamesCannotGrowTheRecordsWithoutEnd() {
        LoginThrottle small = new LoginThrottle(new Limits(5, 20, 50, Duration.ofMinutes(15), Duration.ofSeconds(1),
                Duration.ofSeconds(30), 100), nanos::get);
        for (int i = 0; i < 1_000; i++) {
            small.failed("made-up-" + i + "-" + "x".repeat(1_000), "10.0.0.1");
        }

        assertTrue(small.tracked() <= 100, "tracked: " + small.tracked());
    }

    // ---- through HTTP ----------------------------------------------------------------------------

    @Test
    void afterFiveWrongPasswordsEvenTheRightOneWaitsUnchecked() {
        try (RestStack stack = RestStack.start()) {
            for (int i = 0; i < 5; i++) {
                stack.get("/api/v1/vms", new Login("viewer", "guess-" + i)).problem(401);
            }
            assertEquals(5, TestLoginModule.LOGINS.get());

            Answer throttled = stack.get("/api/v1/vms", Login.VIEWER);

            JsonNode problem = throttled.problem(429);
            assertEquals("1", throttled.header("Retry-After"));
            assertTrue(problem.get("detail").asText().contains("try again in 1 s"), problem.toString());
            assertEquals(5, TestLoginModule.LOGINS.get(), "not checked while throttled");

            stack.advanceSeconds(1);
            stack.get("/api/v1/vms", Login.VIEWER).json(200);
            stack.get("/api/v1/vms", new Login("viewer", "guess-again")).problem(401);
            stack.get("/api/v1/vms", Login.VIEWER).json(200);
        }
    }

    @Test
    void theWaitDoublesWithEachFailureAfterIt() {
        try (RestStack stack = RestStack.start(java.util.Map.of("throttleMaxDelaySeconds", 4))) {
            for (int i = 0; i < 5; i++) {
                stack.get("/api/v1/vms", new Login("viewer", "guess")).problem(401);
            }
            for (String expected : new String[] {"1", "2", "4", "4"}) {
                Answer wait = stack.get("/api/v1/vms", new Login("viewer", "guess"));
                assertEquals(429, wait.status());
                assertEquals(expected, wait.header("Retry-After"));
                stack.advanceSeconds(Long.parseLong(expected));
                stack.get("/api/v1/vms", new Login("viewer", "guess")).problem(401);
            }
        }
    }

    @Test
    void aCachedLoginPassesWhileItsUserIsThrottled() throws UnknownHostException {
        try (RestStack stack = RestStack.start()) {
            stack.get("/api/v1/vms", Login.VIEWER).json(200);
            // Attackers at 50 other addresses fail as the viewer: the user alone is throttled now.
            for (int i = 0; i < 50; i++) {
                stack.send("GET", "/api/v1/vms", new Login("viewer", "guess").header(), null, null,
                        InetAddress.getByName("127.0.1." + (i + 1)));
            }
            stack.send("GET", "/api/v1/vms", Login.VIEWER.header(), null, null, InetAddress.getByName("127.0.2.1"))
                    .json(200);
            int logins = TestLoginModule.LOGINS.get();

            stack.send("GET", "/api/v1/vms", RestStack.basic("viewer", "viewer-pw "), null, null,
                    InetAddress.getByName("127.0.2.2")).problem(429);

            assertEquals(logins, TestLoginModule.LOGINS.get());
        }
    }

    @Test
    void anAddressTryingManyUsersIsSlowedAndOnlyThatAddress() throws UnknownHostException {
        try (RestStack stack = RestStack.start()) {
            InetAddress sprayer = InetAddress.getByName("127.0.3.1");
            for (int i = 0; i < 20; i++) {
                stack.send("GET", "/api/v1/vms", RestStack.basic("user-" + i, "pw"), null, null, sprayer).problem(401);
            }

            stack.send("GET", "/api/v1/vms", Login.OPERATOR.header(), null, null, sprayer).problem(429);
            stack.send("GET", "/api/v1/vms", Login.OPERATOR.header(), null, null, InetAddress.getByName("127.0.3.2"))
                    .json(200);
        }
    }
}
