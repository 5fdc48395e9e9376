package org.servicefarm.shell.internal;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Names;
import org.servicefarm.api.VmRecord;

/** farm:archive: {@link org.servicefarm.api.ServiceManager#archive}. */
@Command(scope = "farm", name = "archive", description = "Archives a VM (its state saved to disk, its host's memory "
        + "freed), or moves an archived one into another tier.")
@Service
public class ArchiveCommand extends VmMoveCommand {

    /** The archive tiers: {@link ArchiveTier}'s names (ShellCommandsTest checks they are all and only those). */
    @Option(name = "--tier", description = "SAVED (default), COMPRESSED or DELTA")
    @Completion(value = StringsCompleter.class, values = {"SAVED", "COMPRESSED", "DELTA"})
    String tier;

    @Override
    VmRecord move() {
        // an unknown tier is refused by VmMoveCommand as for --tier
        return manager.archive(vmId, Names.constant(ArchiveTier.class, "tier", "archive tier", tier));
    }
}
