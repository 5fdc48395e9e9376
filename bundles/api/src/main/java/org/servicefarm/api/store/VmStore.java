package org.servicefarm.api.store;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

import org.osgi.annotation.versioning.ConsumerType;
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
