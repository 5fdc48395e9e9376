package org.servicefarm.api.store;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

import org.osgi.annotation.versioning.ConsumerType;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.Offering;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;

/**
 * Where the farm keeps its VMs' rows. The core's state machine is the only writer: it checks that a move is legal and
 * then asks the store to carry it out with a compare-and-set on the row's state, so two writers (a request, the
 * lifecycle, a hypervisor event, a reconcile) can never both move a VM out of the same state.
 * <p>
 * The highest-ranked store ({@code service.ranking}) is in force: the core ships one in memory; a database store
 * registers with a higher ranking. Every method is thread-safe. A change is atomic per row: {@link #transition} applies
 * its change function to the row as it is at the moment of the compare (a database store: in one transaction, the row
 * locked), and reports the row before and after to exactly one caller.
 */
@ConsumerType
public interface VmStore {

    /** Service property (String): the store's name, e.g. {@code memory}, {@code jdbc}; a state table may name it. */
    String NAME = "store.name";

    /** Every row, DESTROYED ones kept as history included, oldest first. */
    List<VmRecord> vms();

    Optional<VmRecord> vm(String id);

    /** The rows of {@code offering} whose state {@link VmState#occupiesHost() occupies a host}, oldest first. */
    List<VmRecord> offering(Offering offering);

    /** Every row whose state {@link VmState#occupiesHost() occupies a host}. */
    List<VmRecord> occupying();

    /**
     * Adds a row.
     *
     * @return false, changing nothing, if a row with its id exists
     */
    boolean insert(VmRecord vm);

    /**
     * Moves a row from {@code expected} to {@code next} if it is in {@code expected} now: {@code change} gets the row as
     * it is and returns it as it is to be (its state is set to {@code next} whatever {@code change} returns), or
     * {@code null} to leave the row alone. {@code expected == next} updates a row in place.
     *
     * @return the row before and after, or empty if there is no such row, it was not in {@code expected}, or
     *         {@code change} declined
     */
    Optional<Change> transition(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change);

    /**
     * Adds the row of a new VM that {@linkplain VmRecord#holdsHost() holds} room on its host, in one step with two
     * checks a store shared by several appliances must make atomically (a store serving one appliance has nothing to
     * check: that appliance reserved the room and builds one VM of an offering at a time itself): that the rows holding
     * the host, this one added, stay within {@code hostCapacity}, and, for a VM being created, that no other VM of
     * its offering is being created (so a cold combination is built once across appliances).
     *
     * @param hostCapacity all the host has, as this appliance knows it
     */
    default Claim claim(VmRecord vm, Capacity hostCapacity) {
        return insert(vm) ? new Claim.Added(vm) : new Claim.Exists(vm.id());
    }

    /**
     * A {@link #transition} into a state that {@linkplain VmRecord#holdsHost() holds} room on the host the changed row
     * names (a restore, maybe on another host): in one step with checking that the rows holding that host, this one
     * included, stay within {@code hostCapacity}. Empty as for {@link #transition}, and also when the host has no room
     * (a store shared by several appliances: another one took it; its rows are in view when this returns).
     */
    default Optional<Change> transition(String id, VmState expected, VmState next, UnaryOperator<VmRecord> change,
                                        Capacity hostCapacity) {
        return transition(id, expected, next, change);
    }

    /**
     * Asks to be told of the rows other appliances sharing the store add, change and remove, once this store's view
     * has them ({@code null}: no longer). A store serving one appliance has none to tell of.
     *
     * @return the rows that {@linkplain VmState#occupiesHost() occupy a host} as of the moment the observer starts (or
     *         stops) being told: each later change is told, none before it
     */
    default List<VmRecord> observe(Observer observer) {
        return occupying();
    }

    /**
     * Who carries on the move a row in a transitional state is in: this appliance, another one that is alive, or one
     * that is gone (stopped or crashed: nothing will end the move unless another appliance does).
     */
    default Worker worker(VmRecord vm) {
        return Worker.THIS;
    }

    /** Told of the rows other appliances changed, after the store's view has them. */
    @FunctionalInterface
    interface Observer {
        /**
         * @param before the row as the view had it, or {@code null} for a row new to it
         * @param after  the row as it is now, or {@code null} for a row removed
         */
        void changedElsewhere(VmRecord before, VmRecord after);
    }

    /** Who works on a row in a transitional state; see {@link #worker}. */
    enum Worker {
        THIS, ELSEWHERE, GONE
    }

    /** The answer to {@link #claim}. */
    sealed interface Claim {
        /** The row was added. */
        record Added(VmRecord vm) implements Claim {
        }

        /** A row with its id exists; nothing was added. */
        record Exists(String id) implements Claim {
        }

        /** The host has no room for it, by the rows of every appliance; nothing was added. */
        record NoRoom(String reason) implements Claim {
        }

        /** Another VM of the offering is being created (by another appliance): nothing was added; join that one. */
        record BeingCreated(VmRecord other) implements Claim {
        }
    }

    /**
     * Removes a row if it is in {@code expected}.
     *
     * @return the row removed, or empty
     */
    Optional<VmRecord> remove(String id, VmState expected);

    /** Where the rows are kept (in memory, or which database), for the status page. */
    default String description() {
        return getClass().getSimpleName();
    }

    /** A row before and after one {@link #transition}. */
    record Change(VmRecord before, VmRecord after) {
        public Change {
            Objects.requireNonNull(before, "before");
            Objects.requireNonNull(after, "after");
        }
    }
}
