package org.servicefarm.api;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/** The state table: every VM the farm knows, read only. */
@ProviderType
public interface StateTableView {

    /** Every VM, DESTROYED ones included, oldest first. */
    List<VmRecord> vms();

    Optional<VmRecord> vm(String id);

    /** The VMs offering {@code offering} that may still serve (not DESTROYED or FAILED). */
    List<VmRecord> offering(Offering offering);
}
