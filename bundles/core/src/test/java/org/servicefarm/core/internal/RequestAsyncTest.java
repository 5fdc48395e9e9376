package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Activation;
import org.servicefarm.api.Environment;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/** {@link FarmServiceManager#requestAsync}: answers without a thread held, at the latest at the deadline; events. */
class RequestAsyncTest {

    private final Farm farm = new Farm(Map.of());
    private final List<VmRecord> changes = new CopyOnWriteArrayList<>();
    private final List<Outcome> answers = new CopyOnWriteArrayList<>();

    RequestAsyncTest() {
        FarmEvents events = new FarmEvents();
        events.addListener(new FarmListener() {
            @Override
            public void vmChanged(VmRecord vm) {
                changes.add(vm);
            }

            @Override
            public void answered(ServiceRequest request, Outcome outcome) {
                answers.add(outcome);
            }
        });
        farm.table.events = events;
        farm.manager.events = events;
    }

    @AfterEach
    void stop() {
        farm.close();
    }

    @Test
    void aColdRequestReturnsAtOnceAndIsGrantedWhenTheVmAnswers() throws Exception {
        farm.hypervisor.bootGate = new CountDownLatch(1);
        long start = System.nanoTime();
        CompletableFuture<Outcome> answer = farm.manager
                .requestAsync(ServiceRequest.of("wiki").withDeadline(Duration.ofSeconds(60))).toCompletableFuture();
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the call did not wait for the boot");
        Farm.await("the VM booting", () -> farm.vms().stream().anyMatch(vm -> vm.state() == VmState.STARTING));
        assertFalse(answer.isDone(), "no answer while the VM boots and the deadline is far");

        farm.hypervisor.bootGate.countDown();
        Outcome.Granted granted = assertInstanceOf(Outcome.Granted.class, answer.get(60, TimeUnit.SECONDS));
        assertEquals(Activation.CREATED, granted.activation());
        assertEquals(1, farm.table.vm(granted.vmId()).orElseThrow().grants(), "the grant is recorded once");
        Farm.await("the listener told of the answer", () -> answers.contains(granted));
        List<VmState> seen = changes.stream().filter(vm -> vm.id().equals(granted.vmId())).map(VmRecord::state)
                .distinct().toList();
        assertEquals(List.of(VmState.CREATING, VmState.STARTING, VmState.ACTIVE), seen,
                "every state of the new VM, in order");
    }

    @Test
    void theDeadlineAnswersRetryLaterAndTheLateGrantIsNotRecorded() throws Exception {
        farm.hypervisor.bootGate = new CountDownLatch(1);
        CompletableFuture<Outcome> answer = farm.manager
                .requestAsync(ServiceRequest.of("wiki").withDeadline(Duration.ofMillis(200))).toCompletableFuture();
        Outcome.RetryLater later = assertInstanceOf(Outcome.RetryLater.class, answer.get(60, TimeUnit.SECONDS));
        assertTrue(later.elapsed().toMillis() >= 200, "answered at the deadline, not before: " + later.elapsed());

        farm.hypervisor.bootGate.countDown();
        Farm.await("the VM active", () -> farm.vms().stream().anyMatch(vm -> vm.state() == VmState.ACTIVE));
        assertEquals(0, farm.vms().get(0).grants(), "the request answered RETRY_LATER was not granted too");
        Outcome.Granted next = assertInstanceOf(Outcome.Granted.class, farm.manager
                .requestAsync(ServiceRequest.of("wiki").withDeadline(Duration.ZERO)).toCompletableFuture().get());
        assertEquals(Activation.ACTIVE, next.activation(), "the warm path answers even with a deadline of zero");
    }

    @Test
    void aNonViableRequestIsNeverAtOnce() throws Exception {
        CompletableFuture<Outcome> answer = farm.manager.requestAsync(new ServiceRequest("wiki", null,
                new Environment("windows-2022", null, null, null), null, null, null)).toCompletableFuture();
        assertTrue(answer.isDone());
        assertInstanceOf(Outcome.Never.class, answer.get());
        assertEquals(1, answers.size());
    }
}
