package org.servicefarm.core.internal;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostCheckpoint;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ImageRef;

/**
 * A host's connection that tells the {@link HostIndex} how its driver answers: each call that fails counts toward
 * the host's failures in a row, and each call that completes bringing a VM up (start, resume, restore) clears them,
 * so placement skips a failing host until it recovers ({@link HealthFilter}). The steps before (stage, define) and
 * clean-up or listing calls (destroy, guests, suspend, save) succeeding say nothing of whether a VM can be brought up
 * there: a host that stages but refuses every define, or destroys but starts nothing, stays skipped.
 */
final class WatchedConnection implements HostConnection {

    /** A driver call. */
    private interface Call<T> {
        T run() throws HypervisorException;
    }

    private final HostConnection driver;
    private final String host;
    private final HostIndex index;
    /** Told the host's name when a staging there fails: its disk may be what ran out. */
    private final java.util.function.Consumer<String> stagingFailed;

    WatchedConnection(HostConnection driver, String host, HostIndex index,
                      java.util.function.Consumer<String> stagingFailed) {
        this.driver = driver;
        this.host = host;
        this.index = index;
        this.stagingFailed = stagingFailed;
    }

    private <T> T watch(String what, Call<T> call) throws HypervisorException {
        return watch(what, true, call);
    }

    private <T> T watch(String what, boolean recovers, Call<T> call) throws HypervisorException {
        try {
            T result = call.run();
            if (recovers) {
                index.succeeded(host);
            }
            return result;
        } catch (HypervisorException | RuntimeException e) {
            index.failed(host, what + ": " + HostRegistry.safe(e.getMessage()));
            throw e;
        }
    }

    @Override
    public HostRecord host() {
        return driver.host();
    }

    @Override
    public StagedImage stage(ImageRef image) throws HypervisorException {
        try {
            return watch("stage", false, () -> driver.stage(image));
        } catch (HypervisorException | RuntimeException e) {
            stagingFailed.accept(host);
            throw e;
        }
    }

    @Override
    public void define(VmSpec spec) throws HypervisorException {
        watch("define", false, () -> {
            driver.define(spec);
            return null;
        });
    }

    @Override
    public Map<String, Endpoint> start(String vmId) throws HypervisorException {
        return watch("start", () -> driver.start(vmId));
    }

    @Override
    public void suspend(String vmId) throws HypervisorException {
        watch("suspend", false, () -> {
            driver.suspend(vmId);
            return null;
        });
    }

    @Override
    public Map<String, Endpoint> resume(String vmId) throws HypervisorException {
        return watch("resume", () -> driver.resume(vmId));
    }

    @Override
    public void save(String vmId) throws HypervisorException {
        watch("save", false, () -> {
            driver.save(vmId);
            return null;
        });
    }

    @Override
    public org.servicefarm.api.Archive archive(String vmId, org.servicefarm.api.ArchiveTier tier, int level)
            throws HypervisorException {
        return watch("archive", false, () -> driver.archive(vmId, tier, level));
    }

    @Override
    public java.util.Set<org.servicefarm.api.ArchiveTier> archiveTiers() {
        return driver.archiveTiers();
    }

    /** The target is handed to the driver as the driver's own connection: it moves the archive between its hosts. */
    @Override
    public org.servicefarm.api.Archive relocate(String vmId, HostConnection target, VmSpec spec)
            throws HypervisorException {
        HostConnection to = target instanceof WatchedConnection watched ? watched.driver : target;
        return watch("relocate", false, () -> driver.relocate(vmId, to, spec));
    }

    @Override
    public Map<String, Endpoint> restore(String vmId) throws HypervisorException {
        return watch("restore", () -> driver.restore(vmId));
    }

    @Override
    public void destroy(String vmId) throws HypervisorException {
        watch("destroy", false, () -> {
            driver.destroy(vmId);
            return null;
        });
    }

    @Override
    public List<GuestInfo> guests() throws HypervisorException {
        return watch("guests", false, driver::guests);
    }

    @Override
    public boolean needsArtifacts() {
        return driver.needsArtifacts();
    }

    @Override
    public boolean restoresCheckpoints() {
        return driver.restoresCheckpoints();
    }

    /** A checkpoint is a boot: one that fails counts, one that succeeds says nothing of starting VMs. */
    @Override
    public HostCheckpoint checkpoint(VmSpec template) throws HypervisorException {
        return watch("checkpoint", false, () -> driver.checkpoint(template));
    }

    @Override
    public List<HostCheckpoint> checkpoints() throws HypervisorException {
        return watch("checkpoints", false, driver::checkpoints);
    }

    @Override
    public void deleteCheckpoint(String id) throws HypervisorException {
        driver.deleteCheckpoint(id);
    }

    @Override
    public List<StagedContent> stagedBeyond(Collection<ImageRef> needed) throws HypervisorException {
        return watch("list staged content", false, () -> driver.stagedBeyond(needed));
    }

    /** Not counted: a refusal (a guest still uses it) is an answer, not a fault. */
    @Override
    public void unstage(String id) throws HypervisorException {
        driver.unstage(id);
    }

    @Override
    public Optional<StagingSpace> stagingSpace() throws HypervisorException {
        return watch("read staging space", false, driver::stagingSpace);
    }

    @Override
    public void retire() {
        driver.retire();
    }

    @Override
    public boolean alive() {
        return driver.alive();
    }

    @Override
    public void close() {
        driver.close();
    }
}
