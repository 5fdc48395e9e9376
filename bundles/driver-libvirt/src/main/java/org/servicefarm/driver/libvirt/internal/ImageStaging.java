package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

import org.libvirt.Connect;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.StoragePool;
import org.libvirt.StoragePoolInfo;
import org.libvirt.StorageVol;
import org.libvirt.Stream;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.StagedContent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.image.Artifact;
import org.servicefarm.api.image.ImageRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * Stages images onto one host through a libvirt storage pool, so that local ({@code qemu:///system}) and remote
 * ({@code qemu+ssh}, {@code qemu+tls}) hosts are served alike: the pool ({@link HostSettings#stagingPool()}, a
 * {@code dir} pool under {@link HostSettings#stagingDirectory()} created when missing) holds one volume per
 * artifact, named by its sha256, uploaded over a libvirt stream. A volume of that name exists only once its upload
 * is complete: content goes to {@code <sha256>.part} first, is checked against the sha256 while it is sent, and is
 * then copied into {@code <sha256>} on the host (libvirt cannot rename volumes). Volumes already there are not sent
 * again. A volume no image of the store needs any more is deleted when the farm asks ({@link #unstage}), unless a
 * domain of the host boots or mounts it.
 *
 * <p>libvirt's test driver has pools and volumes but takes no uploads, and its guests run nothing: on test hosts
 * the volumes are created with the artifact's size and no content.
 */
final class ImageStaging {

    private static final Logger LOG = LoggerFactory.getLogger(ImageStaging.class);
    /** Bytes per {@code virStreamSend}: well within a libvirt RPC message (256 KiB of payload). */
    private static final int CHUNK = 128 * 1024;
    private static final String PART = ".part";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final String hostName;
    private final Connect libvirt;
    private final HostSettings settings;
    private final LibvirtCalls calls;
    private final Domains domains;
    /** One transfer per artifact at a time on this host; other artifacts stage meanwhile. */
    private final Map<String, ReentrantLock> artifactLocks = new ConcurrentHashMap<>();
    private final Object poolLock = new Object();

    ImageStaging(Connect libvirt, HostSettings settings, LibvirtCalls calls, Domains domains) {
        this.hostName = calls.hostName();
        this.libvirt = libvirt;
        this.settings = settings;
        this.calls = calls;
        this.domains = domains;
    }

    StagedImage stage(ImageRef image) throws HypervisorException {
        if (image.artifacts().isEmpty()) {
            return new StagedImage(image, Map.of());
        }
        StoragePool pool = pool();
        try {
            Map<Artifact.Kind, String> locations = new EnumMap<>(Artifact.Kind.class);
            for (Artifact artifact : image.artifacts()) {
                locations.put(artifact.kind(), volume(pool, artifact));
            }
            return new StagedImage(image, locations);
        } finally {
            free(pool);
        }
    }

    /**
     * The complete volumes of the staging pool (named by a sha256) that no image of {@code needed} has an artifact
     * of; nothing when the host has no staging pool yet (none is made for asking). Part volumes are another staging's
     * business ({@link #awaitOtherStaging}).
     */
    List<StagedContent> beyond(Collection<ImageRef> needed) throws HypervisorException {
        Optional<StoragePool> found = lookupPool(settings.stagingPool());
        if (found.isEmpty()) {
            return List.of();
        }
        StoragePool pool = found.get();
        try {
            Set<String> wanted = new HashSet<>();
            needed.forEach(image -> image.artifacts().forEach(artifact -> wanted.add(artifact.sha256())));
            List<StagedContent> beyond = new ArrayList<>();
            for (String name : calls.call("list volumes of", settings.stagingPool(), pool::listVolumes)) {
                if (!SHA256.matcher(name).matches() || wanted.contains(name)) {
                    continue;
                }
                Optional<StorageVol> volume = lookupVolume(pool, name);
                if (volume.isPresent()) {
                    try {
                        long bytes = calls.call("read volume", name, volume.get()::getInfo).allocation;
                        beyond.add(new StagedContent(name, "volume " + name.substring(0, 12) + "…", bytes));
                    } finally {
                        free(volume.get());
                    }
                }
            }
            return beyond;
        } finally {
            free(pool);
        }
    }

    /**
     * How full the staging pool is: capacity and what is available, as libvirt reads them off the pool's storage (for a
     * {@code dir} pool, its file system: what else writes there counts), refreshed first so that what was written
     * outside libvirt counts too. Empty when the host has no running staging pool (none is made for asking).
     */
    Optional<StagingSpace> space() throws HypervisorException {
        Optional<StoragePool> found = lookupPool(settings.stagingPool());
        if (found.isEmpty()) {
            return Optional.empty();
        }
        StoragePool pool = found.get();
        String name = settings.stagingPool();
        try {
            if (calls.call("read staging pool", name, pool::isActive) != 1) {
                return Optional.empty();
            }
            try {
                pool.refresh(0);
            } catch (LibvirtException e) {
                // refused while a volume is being uploaded ("asynchronous jobs running"): the last reading will do
                LOG.debug("host {}: staging pool {} not refreshed: {}", hostName, name, LibvirtErrors.describe(e));
            }
            StoragePoolInfo info = calls.call("read staging pool", name, pool::getInfo);
            return info.capacity <= 0 ? Optional.empty()
                    : Optional.of(new StagingSpace(info.capacity, Math.max(0, Math.min(info.available,
                            info.capacity))));
        } finally {
            free(pool);
        }
    }

    /**
     * Deletes a complete volume of the staging pool unless a domain of the host boots or mounts it (a guest of any
     * farm sharing this libvirt: running, paused or saved, its domain stays defined until it is destroyed). Under the
     * artifact's lock: this connection does not stage it meanwhile.
     */
    void unstage(String sha256) throws HypervisorException {
        if (!SHA256.matcher(sha256).matches()) {
            throw new HypervisorException("host " + hostName + ": " + LibvirtErrors.shown(sha256)
                    + " names no staged volume (a sha256)");
        }
        ReentrantLock lock = artifactLocks.computeIfAbsent(sha256, k -> new ReentrantLock());
        lock.lock();
        try {
            Optional<StoragePool> pool = lookupPool(settings.stagingPool());
            Optional<StorageVol> volume = pool.isEmpty() ? Optional.empty() : lookupVolume(pool.get(), sha256);
            pool.ifPresent(ImageStaging::free);
            if (volume.isEmpty()) {
                return;
            }
            try {
                String path = calls.call("read volume", sha256, volume.get()::getPath);
                for (Domains.Listed domain : domains.list()) {
                    if (DomainXml.usesFile(domain.xml(), path)) {
                        throw new HypervisorException("host " + hostName + ": guest " + LibvirtErrors.shown(
                                domain.name()) + " uses volume " + sha256.substring(0, 12) + "…");
                    }
                }
                delete(volume.get(), sha256);
            } finally {
                free(volume.get());
            }
        } finally {
            lock.unlock();
        }
    }

    /** The staging pool, defined, built and started when the host has none of that name. */
    private StoragePool pool() throws HypervisorException {
        synchronized (poolLock) {
            String name = settings.stagingPool();
            StoragePool pool = lookupPool(name).orElse(null);
            try {
                if (pool == null) {
                    pool = definePool(name);
                }
                if (calls.call("read staging pool", name, pool::isActive) != 1) {
                    StoragePool inactive = pool;
                    try {
                        calls.run("start staging pool", name, () -> inactive.create(0));
                    } catch (HypervisorException e) {
                        // another appliance sharing the host started it meanwhile: fine; anything else is not
                        if (calls.call("read staging pool", name, pool::isActive) != 1) {
                            throw e;
                        }
                    }
                }
                return pool;
            } catch (HypervisorException | RuntimeException e) {
                if (pool != null) {
                    free(pool);
                }
                throw e;
            }
        }
    }

    private StoragePool definePool(String name) throws HypervisorException {
        String xml = poolXml(name, settings.stagingDirectory());
        StoragePool pool;
        try {
            pool = libvirt.storagePoolDefineXML(xml, 0);
        } catch (LibvirtException e) {
            // Another appliance (or an operator) defined it meanwhile: use theirs.
            return lookupPool(name).orElseThrow(() -> calls.failure("define staging pool", name, e));
        }
        try {
            pool.build(0);
            pool.setAutostart(1);
        } catch (LibvirtException e) {
            free(pool);
            throw calls.failure("build staging pool", name + " in " + settings.stagingDirectory(), e);
        }
        LOG.info("host {}: defined staging pool {} in {}", hostName, name, settings.stagingDirectory());
        return pool;
    }

    /** The host-local path of the artifact's volume, uploaded first when the pool does not hold it yet. */
    private String volume(StoragePool pool, Artifact artifact) throws HypervisorException {
        String name = artifact.sha256();
        ReentrantLock lock = artifactLocks.computeIfAbsent(name, k -> new ReentrantLock());
        lock.lock();
        try {
            Optional<StorageVol> existing = lookupVolume(pool, name);
            if (existing.isPresent()) {
                StorageVol volume = existing.get();
                try {
                    long capacity = calls.call("read volume", name, volume::getInfo).capacity;
                    if (capacity == artifact.sizeBytes()) {
                        return calls.call("read volume", name, volume::getPath);
                    }
                    LOG.warn("host {}: volume {} holds {} bytes, not {}: staging it again", hostName, name, capacity,
                            artifact.sizeBytes());
                    delete(volume, name);
                } finally {
                    free(volume);
                }
            }
            return create(pool, artifact);
        } finally {
            lock.unlock();
        }
    }

    private String create(StoragePool pool, Artifact artifact) throws HypervisorException {
        String name = artifact.sha256();
        String completeXml = volumeXml(name, artifact.sizeBytes());
        if (settings.kind() == HostSettings.Kind.TEST) {
            StorageVol volume = calls.call("create volume", name, () -> pool.storageVolCreateXML(completeXml, 0));
            try {
                return calls.call("read volume", name, volume::getPath);
            } finally {
                free(volume);
            }
        }
        long began = System.nanoTime();
        StorageVol part = null;
        for (int attempt = 1; part == null; attempt++) {
            Optional<String> theirs = awaitOtherStaging(pool, artifact);
            if (theirs.isPresent()) {
                return theirs.get();
            }
            String partXml = volumeXml(name + PART, artifact.sizeBytes());
            try {
                part = calls.call("create volume", name + PART, () -> pool.storageVolCreateXML(partXml, 0));
            } catch (HypervisorException e) {
                if (attempt >= 2 || lookupVolume(pool, name + PART).isEmpty()) {
                    throw e;
                }
                // another appliance sharing the host began staging it between the look and the create: wait for it
            }
        }
        StorageVol uploading = part;
        try {
            upload(part, artifact);
            long uploaded = System.nanoTime();
            StorageVol complete = calls.call("copy volume", name + PART,
                    () -> pool.storageVolCreateXMLFrom(completeXml, uploading, 0));
            try {
                LOG.info("host {}: staged {} {} ({} bytes) in {} ms (upload {} ms, copy {} ms)", hostName,
                        artifact.kind(), name, artifact.sizeBytes(), (System.nanoTime() - began) / 1_000_000,
                        (uploaded - began) / 1_000_000, (System.nanoTime() - uploaded) / 1_000_000);
                return calls.call("read volume", name, complete::getPath);
            } finally {
                free(complete);
            }
        } finally {
            deleteQuietly(part, name + PART);
            free(part);
        }
    }

    /** How long a part volume may stay unchanged before it counts as left by a staging that died. */
    static final long STALE_PART_MS = 30_000;

    /**
     * Waits while the artifact's {@code .part} volume exists and changes: another appliance sharing the host is staging
     * it (this appliance stages one artifact at a time). Then the complete volume, if it stands, is theirs to use; a
     * part unchanged for {@value #STALE_PART_MS} ms was left by a staging that died (this appliance's before a restart,
     * or another's), and is removed.
     *
     * @return the path of the complete volume another staging made, or empty: stage it
     */
    private Optional<String> awaitOtherStaging(StoragePool pool, Artifact artifact) throws HypervisorException {
        String name = artifact.sha256();
        Optional<StorageVol> part = lookupVolume(pool, name + PART);
        String lastSeen = null;
        long lastChange = System.nanoTime();
        while (part.isPresent()) {
            StorageVol seen = part.get();
            String now;
            try {
                now = calls.call("read volume", name + PART, () -> seen.getXMLDesc(0));
            } catch (HypervisorException e) { // gone between the look and the read: the other staging ended
                free(seen);
                part = lookupVolume(pool, name + PART);
                continue;
            }
            if (!now.equals(lastSeen)) { // its size, allocation or times moved: someone writes it
                lastSeen = now;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > STALE_PART_MS * 1_000_000) {
                break;
            }
            free(part.get());
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HypervisorException("interrupted while another staging of " + name + " ran on host "
                        + hostName);
            }
            part = lookupVolume(pool, name + PART);
        }
        if (part.isPresent()) {
            LOG.warn("host {}: volume {} was left by a staging that did not finish; removing it", hostName,
                    name + PART);
            deleteQuietly(part.get(), name + PART);
            free(part.get());
        }
        Optional<StorageVol> complete = lookupVolume(pool, name);
        if (complete.isEmpty()) {
            return Optional.empty();
        }
        try {
            if (calls.call("read volume", name, complete.get()::getInfo).capacity != artifact.sizeBytes()) {
                return Optional.empty();
            }
            return Optional.of(calls.call("read volume", name, complete.get()::getPath));
        } finally {
            free(complete.get());
        }
    }

    /** Sends the artifact's file into the volume, checking its size and sha256 on the way. */
    private void upload(StorageVol volume, Artifact artifact) throws HypervisorException {
        Stream stream = calls.call("open a stream for", artifact.sha256(), () -> libvirt.streamNew(0));
        boolean finished = false;
        try (FileChannel file = FileChannel.open(artifact.file(), StandardOpenOption.READ)) {
            if (file.size() != artifact.sizeBytes()) {
                throw new HypervisorException("artifact " + artifact.sha256() + " is " + file.size() + " bytes in "
                        + "the image store, not " + artifact.sizeBytes());
            }
            calls.run("upload", artifact.sha256(), () -> volume.upload(stream, 0, artifact.sizeBytes(), 0));
            MessageDigest sha256 = sha256();
            ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
            while (file.read(buffer.clear()) > 0) {
                buffer.flip();
                sha256.update(buffer.duplicate());
                send(stream, Arrays.copyOf(buffer.array(), buffer.limit()));
            }
            String actual = HexFormat.of().formatHex(sha256.digest());
            if (!actual.equals(artifact.sha256())) {
                throw new HypervisorException("artifact " + artifact.sha256() + " has sha256 " + actual
                        + " in the image store: not staged");
            }
            calls.run("finish the upload of", artifact.sha256(), stream::finish);
            finished = true;
        } catch (IOException e) {
            throw new HypervisorException("host " + hostName + ": cannot read artifact " + artifact.sha256() + ": "
                    + LibvirtErrors.shown(e.toString()), e);
        } finally {
            if (!finished) {
                try {
                    stream.abort();
                } catch (LibvirtException | RuntimeException e) {
                    LOG.debug("host {}: aborting an upload failed: {}", hostName, e.toString());
                }
            }
            try {
                stream.free();
            } catch (LibvirtException e) {
                LOG.debug("host {}: freeing a stream failed: {}", hostName, LibvirtErrors.describe(e));
            }
        }
    }

    /**
     * Sends all of {@code bytes}. Each call passes a buffer of its own from its start: what libvirt-java hands to
     * virStreamSend is the buffer as a whole, so a partial send continues from a copy of the rest.
     */
    private void send(Stream stream, byte[] bytes) throws HypervisorException {
        byte[] rest = bytes;
        while (rest.length > 0) {
            byte[] chunk = rest;
            int sent = calls.call("send data of", "an artifact", () -> stream.send(chunk));
            if (sent <= 0) {
                throw new HypervisorException("host " + hostName + ": the upload stream took no data");
            }
            rest = Arrays.copyOfRange(rest, sent, rest.length);
        }
    }

    /** A {@code dir} pool keeping its volumes in {@code directory}. */
    static String poolXml(String name, String directory) throws HypervisorException {
        Document document = DomainXml.newDocument();
        Element root = document.createElement("pool");
        root.setAttribute("type", "dir");
        document.appendChild(root);
        DomainXml.text(root, "name", name);
        Element target = DomainXml.child(root, "target");
        DomainXml.text(target, "path", directory);
        // QEMU runs unprivileged: it must reach and read the volumes, never write them.
        DomainXml.text(DomainXml.child(target, "permissions"), "mode", "0755");
        return DomainXml.serialize(document);
    }

    /** A raw volume of {@code sizeBytes}, readable by all (QEMU reads it as another user). */
    static String volumeXml(String name, long sizeBytes) throws HypervisorException {
        Document document = DomainXml.newDocument();
        Element root = document.createElement("volume");
        document.appendChild(root);
        DomainXml.text(root, "name", name);
        DomainXml.text(root, "capacity", Long.toString(sizeBytes)).setAttribute("unit", "bytes");
        Element target = DomainXml.child(root, "target");
        DomainXml.child(target, "format").setAttribute("type", "raw");
        DomainXml.text(DomainXml.child(target, "permissions"), "mode", "0644");
        return DomainXml.serialize(document);
    }

    private Optional<StoragePool> lookupPool(String name) throws HypervisorException {
        try {
            calls.ensureOpen();
            return Optional.of(libvirt.storagePoolLookupByName(name));
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_STORAGE_POOL) {
                return Optional.empty();
            }
            throw calls.failure("look up staging pool", name, e);
        }
    }

    private Optional<StorageVol> lookupVolume(StoragePool pool, String name) throws HypervisorException {
        try {
            calls.ensureOpen();
            return Optional.of(pool.storageVolLookupByName(name));
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_STORAGE_VOL) {
                return Optional.empty();
            }
            throw calls.failure("look up volume", name, e);
        }
    }

    private void delete(StorageVol volume, String name) throws HypervisorException {
        calls.run("delete volume", name, () -> volume.delete(0));
    }

    private void deleteQuietly(StorageVol volume, String name) {
        try {
            volume.delete(0);
        } catch (LibvirtException e) {
            if (e.getError().getCode() != ErrorNumber.VIR_ERR_NO_STORAGE_VOL) {
                LOG.warn("host {}: cannot delete volume {}: {}", hostName, name, LibvirtErrors.describe(e));
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    private static void free(StoragePool pool) {
        try {
            pool.free();
        } catch (LibvirtException e) {
            LOG.debug("freeing a pool handle failed: {}", LibvirtErrors.describe(e));
        }
    }

    private static void free(StorageVol volume) {
        try {
            volume.free();
        } catch (LibvirtException e) {
            LOG.debug("freeing a volume handle failed: {}", LibvirtErrors.describe(e));
        }
    }
}
