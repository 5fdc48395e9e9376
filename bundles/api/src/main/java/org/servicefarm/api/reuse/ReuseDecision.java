package org.servicefarm.api.reuse;

import java.util.Objects;

import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * How a request is served, with the reason explanations show.
 * <ul>
 * <li>{@code grant} alone (step NONE): the request is granted that ACTIVE VM now.</li>
 * <li>{@code grant} and a step: granted now, and one more VM is brought into service in the background.</li>
 * <li>a step alone: the request waits for it (RESUME, RESTORE, CREATE), for the work it joins (JOIN), or is answered
 * RETRY_LATER (WAIT: the subject is being put to rest and is woken once it rests; NONE: the reason says why).</li>
 * </ul>
 *
 * @param grant   the ACTIVE VM granted now, or {@code null}
 * @param step    what else is done
 * @param subject the VM the step concerns: the SLEEPING one to resume, the ARCHIVED one to restore, the waking one
 *                whose work is joined (JOIN without a subject joins the creation under way), the one WAIT waits for;
 *                {@code null} for CREATE and NONE
 * @param reason  why, in words, for explanations and the log, e.g. {@code least loaded ACTIVE VM, load 0.12 <= 0.8}
 */
public record ReuseDecision(VmRecord grant, Step step, VmRecord subject, String reason) {

    /** What is done besides a grant. */
    public enum Step {
        /** Nothing more. */
        NONE,
        /** Resume the SLEEPING subject. */
        RESUME,
        /** Restore the ARCHIVED subject. */
        RESTORE,
        /** Create a new VM, on the host placement chooses. */
        CREATE,
        /** Wait for the work under way: the subject's waking, or the offering's creation when there is no subject. */
        JOIN,
        /** Answer RETRY_LATER: the subject is being put to sleep or archived, and is woken once it rests. */
        WAIT
    }

    /**
     * @throws IllegalArgumentException when the parts do not make a decision: a grant that is not ACTIVE, a resume of
     *                                  a VM that is not SLEEPING, a restore of one that is not ARCHIVED, a join or a
     *                                  wait alongside a grant, a subject where the step takes none
     */
    public ReuseDecision {
        Objects.requireNonNull(step, "step");
        Objects.requireNonNull(reason, "reason");
        if (grant != null && grant.state() != VmState.ACTIVE) {
            throw new IllegalArgumentException("VM " + grant.id() + " is " + grant.state() + ", not ACTIVE: it cannot be granted");
        }
        switch (step) {
            case RESUME -> require(subject, VmState.SLEEPING, "resumed");
            case RESTORE -> require(subject, VmState.ARCHIVED, "restored");
            case WAIT -> {
                if (subject == null || grant != null) {
                    throw new IllegalArgumentException("WAIT needs the VM waited for and no grant");
                }
            }
            case JOIN -> {
                if (grant != null) {
                    throw new IllegalArgumentException("a request granted a VM joins no work");
                }
            }
            case CREATE, NONE -> {
                if (subject != null) {
                    throw new IllegalArgumentException(step + " concerns no VM");
                }
            }
        }
    }

    private static void require(VmRecord subject, VmState state, String what) {
        if (subject == null || subject.state() != state) {
            throw new IllegalArgumentException("only a " + state + " VM can be " + what + ", not "
                    + (subject == null ? "none" : subject.id() + " (" + subject.state() + ")"));
        }
    }

    /** Grant {@code vm} now, and nothing more. */
    public static ReuseDecision grant(VmRecord vm, String reason) {
        return new ReuseDecision(Objects.requireNonNull(vm, "vm"), Step.NONE, null, reason);
    }

    /** Grant {@code vm} now, and bring one more VM into service in the background. */
    public static ReuseDecision grantAnd(VmRecord vm, Step step, VmRecord subject, String reason) {
        return new ReuseDecision(Objects.requireNonNull(vm, "vm"), step, subject, reason);
    }

    /** The request waits for {@code step} (RESUME, RESTORE, CREATE, JOIN), or is answered RETRY_LATER (WAIT, NONE). */
    public static ReuseDecision then(Step step, VmRecord subject, String reason) {
        return new ReuseDecision(null, step, subject, reason);
    }

    /** Resume a SLEEPING VM, restore an ARCHIVED one: the step that wakes {@code vm}. */
    public static Step wakeStep(VmRecord vm) {
        return switch (vm.state()) {
            case SLEEPING -> Step.RESUME;
            case ARCHIVED -> Step.RESTORE;
            default -> throw new IllegalArgumentException("VM " + vm.id() + " is " + vm.state() + " and cannot be woken");
        };
    }
}
