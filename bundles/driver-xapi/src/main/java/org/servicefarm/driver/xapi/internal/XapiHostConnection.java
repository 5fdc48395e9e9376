package org.servicefarm.driver.xapi.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import org.servicefarm.api.Archive;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.Names;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEventListener;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One XAPI pool as a farm host. How the farm's lifecycle maps onto XAPI's:
 * <ul>
 * <li>stage: the image's disks imported into the pool's storage ({@code VDI.create}, {@code PUT /import_raw_vdi}),
 * once per content: the kernel and initrd inside a {@link BootDisk boot disk}, a disk image as it is. A staged VDI
 * is tagged with its content's hash and marked complete only after its upload, so an interrupted one is never
 * used; one no image of the farm needs is destroyed when the farm asks ({@link #unstage}), unless a VBD attaches
 * it (the VMs' own clones live on: the SR keeps a clone's parent data).</li>
 * <li>define: {@code VM.clone} of the host's template, named by the VM id (a JSON string, never spliced into
 * anything), with its own copy-on-write clones of the staged disks ({@code VDI.clone}), an interface on the host's
 * network, a PV kernel in a PVH container booted by pygrub; the farm's record in {@code other_config}.</li>
 * <li>start, restore: {@code VM.start}, {@code VM.resume}; both return once the guest's agent reports its address
 * (XAPI knows it only then), the endpoints being that address and the services' guest ports.</li>
 * <li>suspend, resume: {@code VM.pause}, {@code VM.unpause} (in memory); save, archive: {@code VM.suspend} (its
 * memory written to a suspend image in the SR: XAPI's suspend is the farm's archive, kept SAVED only); destroy:
 * {@code VM.hard_shutdown}, {@code VM.destroy} and its own disks.</li>
 * </ul>
 * The farm's guests of this host are the VMs whose {@code other_config} names it ({@value #HOST_KEY}): a pool may
 * run other VMs, and other farm hosts, side by side.
 */
final class XapiHostConnection implements HostConnection {

    private static final Logger LOG = LoggerFactory.getLogger(XapiHostConnection.class);
    static final String HOST_KEY = "servicefarm.host";
    static final String VM_KEY = "servicefarm.vm";
    static final String CONTENT_KEY = "servicefarm.content";
    static final String COMPLETE_KEY = "servicefarm.complete";
    static final String SERVICE_PORTS = "vm-data/service-ports";
    private static final String NULL_REF = "OpaqueRef:NULL";
    private static final long MIB = 1024L * 1024;
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
            + "(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:]{2,39}");
    private static final Duration ADDRESS_POLL = Duration.ofMillis(100);
    private static final long TASK_POLL_FIRST_MS = 20;
    private static final long TASK_POLL_LONGEST_MS = 1000;

    private final HostRecord host;
    private final XapiHostSettings settings;
    private final XapiDriver.Settings driver;
    private final XapiRpc rpc;
    private final XapiEvents events;
    private final Consumer<XapiHostConnection> onClose;
    /** The pool member every VM runs on, or {@code null}: XAPI chooses. */
    private final String member;
    private final String template;
    private final String network;
    private final String storage;
    /** The farm's VM id to its XAPI ref, as far as known; {@link #ref} finds the others. */
    private final Map<String, String> refs = new ConcurrentHashMap<>();
    private final Map<String, Object> staging = new ConcurrentHashMap<>();
    /** The uuid of the VDI holding each content staged or found, checked with one call before it is reused. */
    private final Map<String, String> stagedVdis = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private XapiHostConnection(HostRecord host, XapiHostSettings settings, XapiDriver.Settings driver, XapiRpc rpc,
                               VmEventListener listener, Consumer<XapiHostConnection> onClose) throws HypervisorException {
        this.host = host;
        this.settings = settings;
        this.driver = driver;
        this.rpc = rpc;
        this.onClose = onClose;
        this.member = settings.member().isEmpty() ? null
                : one("pool member", rpc.call("host.get_by_name_label", settings.member()), settings.member());
        this.template = template(settings.template());
        this.network = one("network", rpc.call("network.get_by_name_label", settings.network()), settings.network());
        this.storage = settings.storage().isEmpty() ? defaultStorage()
                : one("SR", rpc.call("SR.get_by_name_label", settings.storage()), settings.storage());
        this.events = new XapiEvents(host.name(), rpc, listener);
    }

    /** Logs in and finds the host's template, network and storage, so that a typo in them shows at connect. */
    static XapiHostConnection open(HostRecord host, XapiHostSettings settings, XapiDriver.Settings driver,
                                   VmEventListener listener, Consumer<XapiHostConnection> onClose)
            throws HypervisorException {
        XapiRpc rpc = new XapiRpc(settings.pool(), driver.tls(), driver.username(), driver.password(),
                driver.callTimeout());
        try {
            rpc.login();
            XapiHostConnection connection = new XapiHostConnection(host, settings, driver, rpc, listener, onClose);
            connection.events.start();
            LOG.info("host {}: connected to the xapi pool at {} ({}, template '{}', network '{}')", host.name(),
                    settings.pool(), settings.member().isEmpty() ? "its VMs where XAPI places them"
                            : "its VMs on member '" + settings.member() + "'", settings.template(), settings.network());
            return connection;
        } catch (HypervisorException | RuntimeException e) {
            rpc.close();
            throw e;
        }
    }

    private String template(String label) throws HypervisorException {
        for (JsonNode ref : rpc.call("VM.get_by_name_label", label)) {
            if (rpc.call("VM.get_record", ref.asText()).path("is_a_template").asBoolean()) {
                return ref.asText();
            }
        }
        throw new HypervisorException("host " + host.name() + ": the pool has no template '" + Names.excerpt(label, 128)
                + "' (" + XapiHostSettings.TEMPLATE + ")");
    }

    private String defaultStorage() throws HypervisorException {
        JsonNode pools = rpc.call("pool.get_all");
        String sr = pools.size() == 0 ? NULL_REF : rpc.call("pool.get_default_SR", pools.get(0).asText()).asText();
        if (NULL_REF.equals(sr)) {
            throw new HypervisorException("host " + host.name() + ": the pool has no default storage repository; "
                    + "name one (" + XapiHostSettings.STORAGE + ")");
        }
        return sr;
    }

    private String one(String what, JsonNode refs, String label) throws HypervisorException {
        if (refs.size() != 1) {
            throw new HypervisorException("host " + host.name() + ": the pool has " + (refs.size() == 0 ? "no" : refs.size())
                    + " " + what + " named '" + Names.excerpt(label, 128) + "'");
        }
        return refs.get(0).asText();
    }

    @Override
    public HostRecord host() {
        return host;
    }

    @Override
    public StagedImage stage(ImageRef image) throws HypervisorException {
        if (image.compositionOnly()) {
            throw new HypervisorException("host " + host.name() + " boots real guests; image " + image.id()
                    + " is a composition only");
        }
        Artifact kernel = image.artifact(Artifact.Kind.KERNEL).orElse(null);
        Artifact initrd = image.artifact(Artifact.Kind.INITRD).orElse(null);
        Artifact disk = image.artifact(Artifact.Kind.DISK).orElse(null);
        Map<Artifact.Kind, String> locations = new EnumMap<>(Artifact.Kind.class);
        if (kernel != null) {
            String key = BootDisk.key(kernel, initrd, image.kernelArgs());
            String boot = staged(key, "boot disk of image " + image.id(), true, () -> BootDisk.make(
                    driver.bootDirectory(), driver.mke2fs(), kernel, initrd, image.kernelArgs()));
            locations.put(Artifact.Kind.KERNEL, boot);
            if (initrd != null) {
                locations.put(Artifact.Kind.INITRD, boot);
            }
        }
        if (disk != null) {
            locations.put(Artifact.Kind.DISK, staged(disk.sha256(), "disk of image " + image.id(), false, disk::file));
        }
        if (locations.isEmpty()) {
            throw new HypervisorException("host " + host.name() + " boots a kernel or a disk; image " + image.id()
                    + " has neither");
        }
        return new StagedImage(image, locations);
    }

    /**
     * The complete staged VDIs of the host's storage whose content no image of {@code needed} stages to (its boot
     * disk's key, its disk's sha256). Uploads not marked complete are left to the stage that finds them: another
     * appliance on the pool may be sending one now.
     */
    @Override
    public List<StagedContent> stagedBeyond(Collection<ImageRef> needed) throws HypervisorException {
        Set<String> wanted = new HashSet<>();
        for (ImageRef image : needed) {
            Artifact kernel = image.artifact(Artifact.Kind.KERNEL).orElse(null);
            if (kernel != null) {
                wanted.add(BootDisk.key(kernel, image.artifact(Artifact.Kind.INITRD).orElse(null), image.kernelArgs()));
            }
            image.artifact(Artifact.Kind.DISK).ifPresent(disk -> wanted.add(disk.sha256()));
        }
        List<StagedContent> beyond = new ArrayList<>();
        Iterator<JsonNode> vdis = rpc.call("VDI.get_all_records").elements();
        while (vdis.hasNext()) {
            JsonNode record = vdis.next();
            JsonNode otherConfig = record.path("other_config");
            String content = otherConfig.path(CONTENT_KEY).asText("");
            if (storage.equals(record.path("SR").asText()) && !content.isEmpty() && !otherConfig.has(VM_KEY)
                    && "true".equals(otherConfig.path(COMPLETE_KEY).asText()) && !wanted.contains(content)) {
                long bytes = record.path("physical_utilisation").asLong(0);
                beyond.add(new StagedContent(record.path("uuid").asText(), "VDI " + record.path("name_label")
                        .asText() + " (" + content.substring(0, Math.min(12, content.length())) + "…)",
                        bytes > 0 ? bytes : record.path("virtual_size").asLong(-1)));
            }
        }
        return beyond;
    }

    /**
     * Destroys a staged VDI (by uuid) unless a VBD attaches it. The VMs' own disks are copy-on-write clones of it,
     * which the storage keeps whole: XAPI destroys a clone's parent, and the SR keeps its data while clones need it.
     */
    @Override
    public void unstage(String id) throws HypervisorException {
        String ref;
        try {
            ref = rpc.call("VDI.get_by_uuid", id).asText();
        } catch (XapiException e) {
            if (e.is(XapiException.UUID_INVALID)) {
                return;
            }
            throw e;
        }
        JsonNode record = rpc.call("VDI.get_record", ref);
        JsonNode otherConfig = record.path("other_config");
        String content = otherConfig.path(CONTENT_KEY).asText("");
        if (!storage.equals(record.path("SR").asText()) || content.isEmpty() || otherConfig.has(VM_KEY)) {
            throw new HypervisorException("host " + host.name() + ": VDI " + id + " is not one the farm staged");
        }
        synchronized (staging.computeIfAbsent(content, k -> new Object())) { // not staged by this host meanwhile
            if (record.path("VBDs").size() > 0) {
                throw new HypervisorException("host " + host.name() + ": VDI " + id + " is attached to a VM");
            }
            stagedVdis.remove(content, id);
            destroyVdi(ref);
        }
    }

    /**
     * The host's storage repository: its physical size, and what its physical utilisation (every VDI of it, the farm's
     * or not) leaves; empty when the SR does not say its size.
     */
    @Override
    public Optional<StagingSpace> stagingSpace() throws HypervisorException {
        JsonNode sr = rpc.call("SR.get_record", storage);
        long size = sr.path("physical_size").asLong(-1);
        long used = sr.path("physical_utilisation").asLong(0);
        return size <= 0 ? Optional.empty()
                : Optional.of(new StagingSpace(size, Math.max(0, Math.min(size, size - used))));
    }

    private interface DiskFile {
        Path get() throws HypervisorException;
    }

    /**
     * The uuid of the complete VDI holding {@code content} in the host's storage, imported first if there is none.
     *
     * @param made whether the file is made for the upload (and deleted after it), not the image store's
     */
    private String staged(String content, String label, boolean made, DiskFile file) throws HypervisorException {
        synchronized (staging.computeIfAbsent(content, k -> new Object())) {
            String known = stagedVdis.get(content);
            if (known != null && exists(known)) { // one call, not a listing of every VDI of the pool
                return known;
            }
            stagedVdis.remove(content);
            Iterator<Map.Entry<String, JsonNode>> vdis = rpc.call("VDI.get_all_records").fields();
            while (vdis.hasNext()) {
                Map.Entry<String, JsonNode> vdi = vdis.next();
                JsonNode record = vdi.getValue();
                JsonNode otherConfig = record.path("other_config");
                if (!storage.equals(record.path("SR").asText()) || !content.equals(otherConfig.path(CONTENT_KEY).asText())
                        || otherConfig.has(VM_KEY)) {
                    continue;
                }
                if ("true".equals(otherConfig.path(COMPLETE_KEY).asText())) {
                    stagedVdis.put(content, record.path("uuid").asText());
                    return record.path("uuid").asText();
                }
                destroyVdi(vdi.getKey()); // an upload that did not finish
            }
            Path source = file.get();
            try {
                String uuid = importDisk(content, label, source);
                stagedVdis.put(content, uuid);
                return uuid;
            } finally {
                if (made) {
                    try {
                        Files.deleteIfExists(source);
                    } catch (IOException e) {
                        LOG.warn("host {}: {} is left at {}: {}", host.name(), label, source, e.getMessage());
                    }
                }
            }
        }
    }

    private boolean exists(String vdiUuid) throws HypervisorException {
        try {
            rpc.call("VDI.get_by_uuid", vdiUuid);
            return true;
        } catch (XapiException e) {
            if (e.is(XapiException.UUID_INVALID)) {
                return false;
            }
            throw e;
        }
    }

    /** A new VDI with {@code source}'s bytes, tagged with its content and marked complete once they all arrived. */
    private String importDisk(String content, String label, Path source) throws HypervisorException {
        long size;
        try {
            size = Files.size(source);
        } catch (IOException e) {
            throw new HypervisorException("cannot read " + label + ": " + e.getMessage(), e);
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("name_label", "servicefarm " + content.substring(0, 12));
        record.put("name_description", "ServiceFarm: " + label);
        record.put("SR", storage);
        record.put("virtual_size", (size + MIB - 1) / MIB * MIB);
        record.put("type", "user");
        record.put("sharable", false);
        record.put("read_only", false);
        record.put("other_config", Map.of(CONTENT_KEY, content));
        record.put("xenstore_data", Map.of());
        record.put("sm_config", Map.of());
        record.put("tags", List.of());
        String ref = rpc.call("VDI.create", record).asText();
        long started = System.nanoTime();
        try {
            rpc.importRaw(ref, source, driver.uploadTimeout());
            rpc.call("VDI.add_to_other_config", ref, COMPLETE_KEY, "true");
        } catch (HypervisorException e) {
            try {
                destroyVdi(ref); // else the next stage finds it incomplete and removes it
            } catch (HypervisorException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        LOG.info("host {}: {} imported ({} bytes in {} ms)", host.name(), label, size,
                (System.nanoTime() - started) / 1_000_000);
        return rpc.call("VDI.get_record", ref).path("uuid").asText();
    }

    @Override
    public void define(VmSpec spec) throws HypervisorException {
        StagedImage image = spec.image();
        String boot = image.location(Artifact.Kind.KERNEL).or(() -> image.location(Artifact.Kind.DISK))
                .orElseThrow(() -> new HypervisorException("image " + image.image().id() + " is not staged on host "
                        + host.name()));
        String data = image.location(Artifact.Kind.KERNEL).isPresent()
                ? image.location(Artifact.Kind.DISK).orElse(null) : null;
        String vm = rpc.call("VM.clone", template, spec.vmId()).asText();
        refs.put(spec.vmId(), vm);
        try {
            // first: a define cut short leaves a guest the farm finds (and removes) on reconcile
            rpc.call("VM.add_to_other_config", vm, HOST_KEY, host.name());
            rpc.call("VM.add_to_other_config", vm, VM_KEY, spec.vmId());
            rpc.call("VM.set_is_a_template", vm, false);
            rpc.call("VM.set_name_description", vm, "ServiceFarm VM of " + spec.offering().key());
            long bytes = spec.memoryMiB() * MIB;
            rpc.call("VM.set_memory_limits", vm, bytes, bytes, bytes, bytes);
            if (spec.vcpus() >= rpc.call("VM.get_record", vm).path("VCPUs_at_startup").asLong(1)) {
                rpc.call("VM.set_VCPUs_max", vm, spec.vcpus());
                rpc.call("VM.set_VCPUs_at_startup", vm, spec.vcpus());
            } else {
                rpc.call("VM.set_VCPUs_at_startup", vm, spec.vcpus());
                rpc.call("VM.set_VCPUs_max", vm, spec.vcpus());
            }
            // a PV kernel in a PVH container (XAPI's domain type since 7.5; bare PV is gone from XenServer 8), which
            // pygrub boots from the boot disk
            rpc.call("VM.set_domain_type", vm, "pv_in_pvh");
            rpc.call("VM.set_PV_bootloader", vm, "pygrub");
            // added to what the template gives the guest, not in place of it
            rpc.call("VM.add_to_xenstore_data", vm, SERVICE_PORTS, spec.services().stream()
                    .map(s -> Integer.toString(s.guestPort())).distinct().collect(Collectors.joining(",")));
            attach(vm, spec.vmId(), boot, "0", true);
            if (data != null) {
                attach(vm, spec.vmId(), data, "1", false);
            }
            Map<String, Object> vif = new LinkedHashMap<>();
            vif.put("device", "0");
            vif.put("network", network);
            vif.put("VM", vm);
            vif.put("MAC", "");
            vif.put("MTU", 1500);
            vif.put("other_config", Map.of());
            vif.put("qos_algorithm_type", "");
            vif.put("qos_algorithm_params", Map.of());
            vif.put("locking_mode", "network_default");
            vif.put("ipv4_allowed", List.of());
            vif.put("ipv6_allowed", List.of());
            rpc.call("VIF.create", vif);
            // last: only a whole definition carries the record a restarted appliance adopts the guest from
            rpc.call("VM.add_to_other_config", vm, GuestRecord.KEY, GuestRecord.of(spec).json());
        } catch (HypervisorException | RuntimeException e) {
            try {
                destroy(spec.vmId());
            } catch (HypervisorException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Attaches the VM's own copy-on-write clone of a staged VDI. */
    private void attach(String vm, String vmId, String stagedUuid, String device, boolean bootable)
            throws HypervisorException {
        String staged = rpc.call("VDI.get_by_uuid", stagedUuid).asText();
        String own = rpc.call("VDI.clone", staged, Map.of()).asText();
        rpc.call("VDI.add_to_other_config", own, VM_KEY, vmId);
        Map<String, Object> vbd = new LinkedHashMap<>();
        vbd.put("VM", vm);
        vbd.put("VDI", own);
        vbd.put("userdevice", device);
        vbd.put("bootable", bootable);
        vbd.put("mode", "RW");
        vbd.put("type", "Disk");
        vbd.put("unpluggable", false);
        vbd.put("empty", false);
        vbd.put("other_config", Map.of());
        vbd.put("qos_algorithm_type", "");
        vbd.put("qos_algorithm_params", Map.of());
        rpc.call("VBD.create", vbd);
    }

    @Override
    public Map<String, Endpoint> start(String vmId) throws HypervisorException {
        return run(vmId, "VM.start");
    }

    /**
     * {@code VM.start} or {@code VM.resume}, neither paused nor forced, on the host's member if it has one
     * ({@code VM.start_on}, {@code VM.resume_on}); then the guest's endpoints.
     */
    private Map<String, Endpoint> run(String vmId, String call) throws HypervisorException {
        String vm = ref(vmId);
        if (member == null) {
            operation(call, vm, false, false);
        } else {
            operation(call + "_on", vm, member, false, false);
        }
        return endpoints(vmId, vm);
    }

    /**
     * A power operation as XAPI's own clients run one: {@code Async.<method>} gives a task, followed with short calls
     * until it ends (within the driver's operation timeout, cancelled past it), then destroyed. A suspend writing many
     * GiB outlasts any one call's timeout; a dropped connection loses no operation.
     *
     * @throws XapiException with the task's error when it failed
     */
    private void operation(String method, Object... params) throws HypervisorException {
        String task = rpc.call("Async." + method, params).asText();
        long deadline = System.nanoTime() + driver.operationTimeout().toNanos();
        long pause = TASK_POLL_FIRST_MS;
        try {
            while (true) {
                JsonNode record = rpc.call("task.get_record", task);
                switch (record.path("status").asText()) {
                    case "success":
                        return;
                    case "failure": {
                        List<String> error = new ArrayList<>();
                        record.path("error_info").forEach(e -> error.add(e.asText()));
                        throw new XapiException(method, error.isEmpty() ? "unknown error" : error.get(0),
                                error.isEmpty() ? List.of() : error.subList(1, error.size()));
                    }
                    case "cancelled":
                        throw new HypervisorException(method + " was cancelled in the pool");
                    default: // pending, cancelling
                        break;
                }
                if (closed || System.nanoTime() > deadline) {
                    cancel(task);
                    throw new HypervisorException(method + " did not finish within "
                            + driver.operationTimeout().toSeconds() + " s" + (closed ? " (the connection closed)" : ""));
                }
                Thread.sleep(pause);
                pause = Math.min(pause * 2, TASK_POLL_LONGEST_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancel(task);
            throw new HypervisorException(method + ": interrupted");
        } finally {
            try {
                rpc.call("task.destroy", task);
            } catch (HypervisorException e) {
                LOG.debug("host {}: task {} of {} not destroyed: {}", host.name(), task, method, e.getMessage());
            }
        }
    }

    private void cancel(String task) {
        try {
            rpc.call("task.cancel", task);
        } catch (HypervisorException e) {
            LOG.debug("host {}: task {} not cancelled: {}", host.name(), task, e.getMessage());
        }
    }

    @Override
    public void suspend(String vmId) throws HypervisorException {
        operation("VM.pause", ref(vmId));
    }

    @Override
    public Map<String, Endpoint> resume(String vmId) throws HypervisorException {
        String vm = ref(vmId);
        operation("VM.unpause", vm);
        return endpoints(vmId, vm);
    }

    @Override
    public void save(String vmId) throws HypervisorException {
        String vm = ref(vmId);
        String power = rpc.call("VM.get_power_state", vm).asText();
        if (restingState(power) == VmState.ARCHIVED) {
            return;
        }
        if (restingState(power) == VmState.SLEEPING) {
            operation("VM.unpause", vm); // XAPI suspends a running VM only
        }
        operation("VM.suspend", vm);
    }

    /** As {@link #save}, with what XAPI's suspend image of the VM takes in its SR. */
    @Override
    public Archive archive(String vmId, ArchiveTier tier, int compressionLevel) throws HypervisorException {
        HostConnection.super.archive(vmId, tier, compressionLevel); // SAVED only, as XAPI suspends
        String image = rpc.call("VM.get_record", ref(vmId)).path("suspend_VDI").asText(NULL_REF);
        long bytes = NULL_REF.equals(image) ? -1
                : rpc.call("VDI.get_record", image).path("physical_utilisation").asLong(-1);
        return new Archive(ArchiveTier.SAVED, bytes, bytes);
    }

    @Override
    public Map<String, Endpoint> restore(String vmId) throws HypervisorException {
        return run(vmId, "VM.resume");
    }

    @Override
    public void destroy(String vmId) throws HypervisorException {
        String vm = refs.get(vmId);
        if (vm == null) {
            vm = find(vmId);
        }
        if (vm == null) {
            return;
        }
        try {
            JsonNode record = rpc.call("VM.get_record", vm);
            if (!"halted".equals(record.path("power_state").asText().toLowerCase(Locale.ROOT))) {
                try {
                    operation("VM.hard_shutdown", vm);
                } catch (XapiException e) {
                    if (!e.is(XapiException.VM_BAD_POWER_STATE)) { // halted meanwhile
                        throw e;
                    }
                }
            }
            List<String> own = new ArrayList<>();
            for (JsonNode vbd : record.path("VBDs")) {
                String vdi = rpc.call("VBD.get_record", vbd.asText()).path("VDI").asText();
                if (!NULL_REF.equals(vdi) && vmId.equals(rpc.call("VDI.get_record", vdi).path("other_config")
                        .path(VM_KEY).asText())) {
                    own.add(vdi);
                }
            }
            rpc.call("VM.destroy", vm);
            for (String vdi : own) {
                destroyVdi(vdi);
            }
        } catch (XapiException e) {
            if (!e.is(XapiException.HANDLE_INVALID)) {
                throw e;
            }
        }
        refs.remove(vmId);
    }

    private void destroyVdi(String vdi) throws HypervisorException {
        try {
            rpc.call("VDI.destroy", vdi);
        } catch (XapiException e) {
            if (!e.is(XapiException.HANDLE_INVALID)) {
                throw e;
            }
        }
    }

    @Override
    public List<GuestInfo> guests() throws HypervisorException {
        List<GuestInfo> guests = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> vms = rpc.call("VM.get_all_records").fields();
        while (vms.hasNext()) {
            Map.Entry<String, JsonNode> entry = vms.next();
            JsonNode record = entry.getValue();
            JsonNode otherConfig = record.path("other_config");
            String vmId = otherConfig.path(VM_KEY).asText(null);
            if (record.path("is_a_template").asBoolean() || record.path("is_control_domain").asBoolean()
                    || vmId == null || !host.name().equals(otherConfig.path(HOST_KEY).asText())) {
                continue;
            }
            refs.put(vmId, entry.getKey());
            VmState state = restingState(record.path("power_state").asText());
            String text = otherConfig.path(GuestRecord.KEY).asText(null);
            if (text == null) {
                guests.add(new GuestInfo.Unrecorded(vmId, state, "its definition did not finish (no "
                        + GuestRecord.KEY + ")"));
                continue;
            }
            try {
                GuestRecord guest = GuestRecord.parse(text);
                String address = state == VmState.ACTIVE || state == VmState.SLEEPING
                        ? address(record.path("guest_metrics").asText(NULL_REF)) : null;
                guests.add(new GuestInfo.Recorded(guest.metadata(address), state));
            } catch (RuntimeException e) {
                guests.add(new GuestInfo.Unrecorded(vmId, state, Names.excerpt(e.getMessage(), 200)));
            }
        }
        return guests;
    }

    /** The VM's ref: from what this connection knows, else looked up by the farm's tags. */
    private String ref(String vmId) throws HypervisorException {
        String known = refs.get(vmId);
        if (known != null) {
            return known;
        }
        String found = find(vmId);
        if (found == null) {
            throw new HypervisorException("host " + host.name() + " has no VM " + vmId);
        }
        return found;
    }

    private String find(String vmId) throws HypervisorException {
        for (JsonNode ref : rpc.call("VM.get_by_name_label", vmId)) {
            JsonNode otherConfig = rpc.call("VM.get_record", ref.asText()).path("other_config");
            if (vmId.equals(otherConfig.path(VM_KEY).asText()) && host.name().equals(otherConfig.path(HOST_KEY).asText())) {
                refs.put(vmId, ref.asText());
                return ref.asText();
            }
        }
        return null;
    }

    /**
     * The services' endpoints once the guest's agent reports its address: XAPI learns a guest's address only from
     * the guest, so a start or restore returns when the address is known, within the host's address timeout.
     */
    private Map<String, Endpoint> endpoints(String vmId, String vm) throws HypervisorException {
        String text = rpc.call("VM.get_other_config", vm).path(GuestRecord.KEY).asText(null);
        if (text == null) {
            throw new HypervisorException("VM " + vmId + " on host " + host.name() + " carries no farm record");
        }
        GuestRecord guest = GuestRecord.parse(text);
        long deadline = System.nanoTime() + settings.addressTimeout().toNanos();
        while (true) { // one small call a round, not the VM's whole record
            String address = address(rpc.call("VM.get_guest_metrics", vm).asText(NULL_REF));
            if (address != null) {
                return guest.endpoints(address);
            }
            if (closed || System.nanoTime() > deadline) {
                throw new HypervisorException("VM " + vmId + " runs on host " + host.name() + " but its guest agent "
                        + "reported no address within " + settings.addressTimeout().toSeconds() + " s");
            }
            try {
                Thread.sleep(ADDRESS_POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HypervisorException("interrupted while waiting for VM " + vmId + "'s address");
            }
        }
    }

    /**
     * The guest's first IPv4 (else IPv6) address as its agent reports it, or {@code null}. The guest writes it: only
     * an address literal is taken, never a name to resolve.
     */
    private String address(String guestMetrics) throws HypervisorException {
        if (NULL_REF.equals(guestMetrics) || guestMetrics.isEmpty()) {
            return null;
        }
        JsonNode networks;
        try {
            networks = rpc.call("VM_guest_metrics.get_networks", guestMetrics);
        } catch (XapiException e) {
            if (e.is(XapiException.HANDLE_INVALID)) { // the metrics went with a shutdown
                return null;
            }
            throw e;
        }
        for (String key : List.of("0/ip", "0/ipv4/0")) {
            String value = networks.path(key).asText("");
            if (IPV4.matcher(value).matches()) {
                return value;
            }
        }
        String v6 = networks.path("0/ipv6/0").asText("");
        return IPV6.matcher(v6).matches() && v6.contains(":") ? v6 : null;
    }

    /** The farm's resting state of a XAPI power state; a halted farm guest has no saved state: FAILED. */
    static VmState restingState(String powerState) {
        return switch (powerState == null ? "" : powerState.toLowerCase(Locale.ROOT)) {
            case "running" -> VmState.ACTIVE;
            case "paused" -> VmState.SLEEPING;
            case "suspended" -> VmState.ARCHIVED;
            default -> VmState.FAILED;
        };
    }

    @Override
    public boolean alive() {
        return !closed && !events.broken();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        events.stop();
        rpc.close();
        onClose.accept(this);
        LOG.info("host {}: disconnected from the xapi pool at {}", host.name(), settings.pool());
    }
}
