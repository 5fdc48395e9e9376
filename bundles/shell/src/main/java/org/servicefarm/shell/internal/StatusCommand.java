package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.config.RefusedConfiguration;
import org.servicefarm.api.store.Leadership;
import org.servicefarm.api.store.VmStore;

/**
 * farm:status: what {@code GET /api/v1/status} answers, from the same services: the front ends, how many hosts and
 * live VMs, where the state is kept, which appliance leads the periodic work, and the configurations refused.
 */
@Command(scope = "farm", name = "status", description = "Shows the appliance's status: the directory front ends and "
        + "their addresses, how many hosts and live VMs the farm has, where its state is kept and which appliance "
        + "leads the periodic work (sweeps, reconciles), and any configuration refused (what is wrong, what is in "
        + "force instead).")
@Service
public class StatusCommand implements Action {

    @Reference
    LocalServiceManager manager;

    @Reference
    BundleContext context;

    /** Absent without a shared store: this appliance does the periodic work. */
    @Reference(optional = true)
    Leadership leadership;

    PrintStream out = System.out;

    @Override
    public Object execute() throws InvalidSyntaxException {
        out.print(status(FrontendsCommand.frontEnds(context), refused(context), storeInForce(context)));
        return null;
    }

    /**
     * What the highest-ranked store says of itself, as the state table and the REST resource bind it (greedily), or
     * "-". Looked up at each run: Karaf injects an optional reference once found and keeps it, so a command run
     * before the JDBC store came up named the in-memory one long after the table had moved to the database.
     */
    static String storeInForce(BundleContext context) {
        ServiceReference<VmStore> reference = context.getServiceReference(VmStore.class);
        VmStore store = reference == null ? null : context.getService(reference);
        if (store == null) {
            return "-";
        }
        try {
            return store.description();
        } finally {
            context.ungetService(reference);
        }
    }

    /** The configurations refused and not mended, the latest of each pid (a component registers its refusal). */
    static List<RefusedConfiguration> refused(BundleContext context) throws InvalidSyntaxException {
        List<RefusedConfiguration> refusals = new ArrayList<>();
        for (ServiceReference<RefusedConfiguration> reference
                : context.getServiceReferences(RefusedConfiguration.class, null)) {
            RefusedConfiguration refusal = context.getService(reference);
            if (refusal != null) {
                refusals.add(refusal);
                context.ungetService(reference);
            }
        }
        return RefusedConfiguration.latestByPid(refusals);
    }

    String status(List<List<String>> frontEnds, List<RefusedConfiguration> refused, String store) {
        long live = manager.stateTable().vms().stream().filter(vm -> vm.state().occupiesHost()).count();
        StringBuilder text = new StringBuilder();
        Leadership l = leadership;
        Formats.line(text, "appliance", l == null ? "alone (does the periodic work)" : l.appliance()
                + (l.leads() ? " (leads the periodic work)" : ", led by " + (l.leader() == null ? "none yet"
                : l.leader())));
        Formats.line(text, "store", store);
        Formats.line(text, "hosts", Integer.toString(manager.hosts().size()));
        Formats.line(text, "live VMs", Long.toString(live));
        if (frontEnds.isEmpty()) {
            Formats.line(text, "front ends", "none");
        }
        for (int i = 0; i < frontEnds.size(); i++) {
            Formats.line(text, i == 0 ? "front ends" : "", String.format(java.util.Locale.ROOT, "%-10s %s",
                    frontEnds.get(i).get(0), frontEnds.get(i).get(1)));
        }
        for (int i = 0; i < refused.size(); i++) {
            RefusedConfiguration r = refused.get(i);
            Formats.line(text, i == 0 ? "refused" : "", r.pid() + " since " + r.since().truncatedTo(ChronoUnit.SECONDS) + ": " + r.reason() + "; " + r.inForce());
        }
        return text.toString();
    }
}
