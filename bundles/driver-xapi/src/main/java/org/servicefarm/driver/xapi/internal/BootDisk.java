package org.servicefarm.driver.xapi.internal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.image.Artifact;

/**
 * A Xen guest's boot disk made from an image's kernel and initrd: an ext4 file system holding both and a GRUB menu
 * that boots the kernel with the image's arguments, which pygrub reads in dom0 ({@code PV_bootloader=pygrub}). XAPI
 * has no call that puts a file into dom0, where Xen's direct kernel boot ({@code PV_kernel}) would read it, but it
 * imports disks ({@code /import_raw_vdi}): so the kernel travels inside a disk.
 * <p>
 * Made under the driver's directory with {@code mke2fs -d}, no shell, only when a pool lacks it, and deleted once
 * uploaded: the pool's VDI is the copy that lasts. The arguments pass a strict character set before they reach the
 * menu, which GRUB parses as a script.
 */
final class BootDisk {

    /** What a kernel argument may hold: nothing GRUB's script parser reads ({@code ; $ { } " '} and spaces aside). */
    private static final Pattern ARGUMENTS = Pattern.compile("[A-Za-z0-9 =,._/:+@-]{0,1024}");
    private static final long MIB = 1024 * 1024;

    private BootDisk() {
    }

    /** The content key of a boot disk: the same kernel, initrd and arguments make the same disk. */
    static String key(Artifact kernel, Artifact initrd, String arguments) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((kernel.sha256() + "\n" + (initrd == null ? "-" : initrd.sha256()) + "\n" + arguments)
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Makes a boot disk in a new file under {@code directory}, which the caller deletes.
     *
     * @throws HypervisorException if the arguments hold what GRUB would read as script, or mke2fs fails
     */
    static Path make(Path directory, Path mke2fs, Artifact kernel, Artifact initrd, String arguments)
            throws HypervisorException {
        String args = arguments == null ? "" : arguments.trim();
        if (!ARGUMENTS.matcher(args).matches()) {
            throw new HypervisorException("the image's kernel arguments hold characters a GRUB menu would read as "
                    + "script; a xapi host cannot boot it");
        }
        Path work = null;
        try {
            Files.createDirectories(directory);
            work = Files.createTempDirectory(directory, "making-");
            Path root = work.resolve("root");
            Files.createDirectories(root.resolve("boot/grub"));
            Files.copy(kernel.file(), root.resolve("boot/vmlinuz"));
            if (initrd != null) {
                Files.copy(initrd.file(), root.resolve("boot/initrd.img"));
            }
            String menu = "set default=0\nset timeout=0\nmenuentry 'servicefarm' {\n  linux /boot/vmlinuz " + args
                    + "\n" + (initrd == null ? "" : "  initrd /boot/initrd.img\n") + "}\n";
            Files.writeString(root.resolve("boot/grub/grub.cfg"), menu, StandardCharsets.US_ASCII);
            long content = Files.size(kernel.file()) + (initrd == null ? 0 : Files.size(initrd.file()));
            long size = Math.max(16 * MIB, (content + content / 5 + 4 * MIB + MIB - 1) / MIB * MIB);
            Path image = work.resolve("disk.img");
            try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
                file.setLength(size);
            }
            run(List.of(mke2fs.toString(), "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-L", "sfboot", "-d",
                    root.toString(), image.toString()));
            Path disk = Files.createTempFile(directory, "boot-", ".img");
            Files.move(image, disk, StandardCopyOption.REPLACE_EXISTING);
            return disk;
        } catch (IOException e) {
            throw new HypervisorException("cannot make the boot disk: " + e.getMessage(), e);
        } finally {
            if (work != null) {
                delete(work);
            }
        }
    }

    private static void run(List<String> command) throws IOException, HypervisorException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            process.getOutputStream().close();
            byte[] output = process.getInputStream().readNBytes(4096);
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new HypervisorException("mke2fs did not finish within 120 s");
            }
            if (process.exitValue() != 0) {
                throw new HypervisorException("mke2fs failed (" + process.exitValue() + "): "
                        + org.servicefarm.api.Names.excerpt(new String(output, StandardCharsets.UTF_8).trim(), 200));
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted while making a boot disk");
        }
    }

    private static void delete(Path tree) {
        try (Stream<Path> paths = Files.walk(tree)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover under the driver's directory; the next disk is made in a new one
        }
    }
}
