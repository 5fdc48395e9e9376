package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint of a guest booted from an image until its services answered, stored in
 * {@code <checkpointDir>/<id>/}:
 * <ul>
 * <li>{@code ram}: the guest RAM, the file the template ran on ({@code memory-backend-file,share=on});
 *     clones map it private ({@code share=off}): copy-on-write, the file never changes again;</li>
 * <li>{@code state}: the device state (CPU, devices, the network stack) saved with
 *     {@code x-ignore-shared}, so it holds no RAM (under a megabyte);</li>
 * <li>{@code full.state} (optional): the same moment as a complete migration stream, RAM included, for a
 *     restore that does not depend on the RAM file (and for comparison);</li>
 * <li>{@code manifest.json}: this record, written last: a directory without it is an interrupted checkpoint.</li>
 * </ul>
 * Clones must run the same command line except for what {@link CommandLine#normalized} masks; the
 * manifest keeps the template's exact argv and its normalized form to check that.
 *
 * @param id             the checkpoint's name
 * @param dir            its directory
 * @param image          the image it was booted from
 * @param memoryMiB      guest RAM
 * @param vcpus          virtual CPUs
 * @param guestPorts     the service ports in the guest, in order
 * @param machine        the versioned machine type the template ran
 * @param qemuVersion    the QEMU version that wrote the state (a restore needs the same)
 * @param templateArgv   the template's exact command line
 * @param normalizedArgv the same, with per-guest parts masked
 * @param fullState      whether {@code full.state} exists
 * @param createdMillis  when it was made (epoch milliseconds)
 * @param timings        how long its making took, in milliseconds (boot, save, ...)
 */
public record Checkpoint(String id, Path dir, Image image, int memoryMiB, int vcpus, List<Integer> guestPorts,
        String machine, String qemuVersion, List<String> templateArgv, List<String> normalizedArgv, boolean fullState,
        long createdMillis, Map<String, Long> timings) {

    static final String SCHEMA = "servicefarm.checkpoint/1";
    /** The image kind the image store will list it as. */
    public static final String KIND = "CHECKPOINT";

    public Checkpoint {
        Checks.name("checkpoint id", id);
        Checks.plain("checkpoint directory", dir);
        guestPorts = List.copyOf(guestPorts);
        templateArgv = List.copyOf(templateArgv);
        normalizedArgv = List.copyOf(normalizedArgv);
        timings = Map.copyOf(timings);
    }

    public Path ramFile() {
        return dir.resolve("ram");
    }

    public Path stateFile() {
        return dir.resolve("state");
    }

    public Path fullStateFile() {
        return dir.resolve("full.state");
    }

    public Path manifestFile() {
        return dir.resolve("manifest.json");
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("schema", SCHEMA);
        m.put("kind", KIND);
        m.put("id", id);
        Map<String, Object> img = new LinkedHashMap<>();
        img.put("key", image.key());
        img.put("kernel", image.kernel().toString());
        img.put("initrd", image.initrd().toString());
        img.put("disk", image.disk() == null ? null : image.disk().toString());
        img.put("cmdline", image.cmdline());
        img.put("minMemoryMiB", image.minMemoryMiB());
        m.put("image", img);
        m.put("memoryMiB", memoryMiB);
        m.put("vcpus", vcpus);
        m.put("guestPorts", guestPorts);
        m.put("machine", machine);
        m.put("qemuVersion", qemuVersion);
        m.put("ram", "ram");
        m.put("state", "state");
        m.put("fullState", fullState ? "full.state" : null);
        m.put("createdMillis", createdMillis);
        m.put("timingsMillis", new LinkedHashMap<>(timings));
        m.put("templateArgv", templateArgv);
        m.put("normalizedArgv", normalizedArgv);
        return m;
    }

    /** Writes {@code manifest.json} (atomically): the checkpoint is complete from then on. */
    void write() throws IOException {
        GuestState.writeAtomically(manifestFile(), Json.writePretty(toJson()));
    }

    /** Reads the checkpoint in {@code dir}. */
    public static Checkpoint read(Path dir) throws IOException {
        Map<String, Object> m;
        try {
            m = Json.parseObject(Files.readString(dir.resolve("manifest.json")));
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable checkpoint manifest in " + dir + ": " + e.getMessage(), e);
        }
        if (!SCHEMA.equals(m.get("schema"))) {
            throw new IOException(dir + " holds no " + SCHEMA + " manifest");
        }
        Map<String, Object> img = Json.object(m, "image");
        String disk = Json.string(img, "disk");
        Image image = new Image(Json.string(img, "key"), Path.of(Json.string(img, "kernel")),
                Path.of(Json.string(img, "initrd")), disk == null ? null : Path.of(disk), Json.string(img, "cmdline"),
                (int) Json.number(img, "minMemoryMiB", 128));
        List<Integer> ports = new ArrayList<>();
        for (Object p : Json.array(m, "guestPorts")) {
            ports.add(((Number) p).intValue());
        }
        Map<String, Long> timings = new LinkedHashMap<>();
        Json.object(m, "timingsMillis").forEach((k, v) -> timings.put(k, ((Number) v).longValue()));
        return new Checkpoint(Json.string(m, "id"), dir, image, (int) Json.number(m, "memoryMiB", 0),
                (int) Json.number(m, "vcpus", 1), ports, Json.string(m, "machine"), Json.string(m, "qemuVersion"),
                strings(Json.array(m, "templateArgv")), strings(Json.array(m, "normalizedArgv")),
                m.get("fullState") != null, Json.number(m, "createdMillis", 0), timings);
    }

    private static List<String> strings(List<Object> values) {
        List<String> out = new ArrayList<>(values.size());
        for (Object v : values) {
            out.add((String) v);
        }
        return out;
    }
}
