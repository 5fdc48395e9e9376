package org.servicefarm.driver.qemu.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The qemu driver's own settings (PID {@value QemuDriver#PID}): what only the operator of this machine may choose
 * (the binary, the directories, the user QEMU runs as, hardening). A host configuration (or a REST client) sets only
 * the {@link HostSettings per-host keys}. The shipped defaults are etc/org.servicefarm.driver.qemu.cfg.
 */
@ObjectClassDefinition(name = "ServiceFarm qemu driver",
        description = "Runs QEMU guests on this machine directly (no libvirt): boots images, makes checkpoints of "
                + "them and starts new VMs from a checkpoint through a pool of pre-started QEMU processes. Per-host "
                + "settings (port range, pool size, endpoint host) are hypervisor.* keys of the host configurations.")
@interface QemuDriverConfig {

    @AttributeDefinition(name = "QEMU binary", description = "The QEMU system emulator to run.")
    String qemuBinary() default "/usr/bin/qemu-system-x86_64";

    @AttributeDefinition(name = "State directory", description = "Per host, one sub-directory with each guest's "
            + "state file, pid file, QMP socket and logs, and the farm's record of each VM. On a file system that "
            + "lives as long as the QEMU processes (/run): a restarted appliance finds its guests there and adopts "
            + "them.")
    String stateDir() default "/run/servicefarm/qemu";

    @AttributeDefinition(name = "Data directory", description = "Per host, one sub-directory with its checkpoints "
            + "(RAM file, device state, manifest) and the saved state of archived VMs; checkpoints survive a restart "
            + "of the machine. QEMU's user must be able to traverse it.")
    String dataDir() default "/var/lib/servicefarm/qemu";

    @AttributeDefinition(name = "Image directory", description = "Where images are staged for QEMU, one file per "
            + "sha256 (hard links to the image store's files when on the same file system), root-owned and "
            + "world-readable: QEMU's user reads them. Kernels, initrds and disks are taken from here only.")
    String imageDir() default "/var/lib/servicefarm/qemu-images";

    @AttributeDefinition(name = "Run as", description = "The user QEMU drops to after opening its files (-runas); "
            + "empty to keep root (not recommended).")
    String runAs() default "libvirt-qemu";

    @AttributeDefinition(description = "The QEMU machine type; an alias such as pc is resolved to its versioned "
            + "name, which every checkpoint records.")
    String machine() default "pc";

    @AttributeDefinition(description = "The QEMU accelerator: tcg (emulation; there is no usable KVM here) or kvm.")
    String accel() default "tcg";

    @AttributeDefinition(description = "The CPU model and flags; +rdrand seeds the guest kernel's random generator "
            + "at once, so a clone's VM generation ID change can reseed it.")
    String cpu() default "qemu64,+rdrand";

    @AttributeDefinition(name = "Forward address", description = "The IPv4 address on this machine the guests' "
            + "ports are forwarded from.")
    String bindAddress() default "127.0.0.1";

    @AttributeDefinition(description = "QEMU's seccomp sandbox.")
    boolean sandbox() default true;

    @AttributeDefinition(name = "Checkpoint boot limit (s)", description = "How long a guest booted to be "
            + "checkpointed may take until every service answers.")
    long checkpointBootLimitSeconds() default 180;

    @AttributeDefinition(name = "Restore limit (s)", description = "How long loading a checkpoint or an archived "
            + "VM's saved state may take.")
    long restoreLimitSeconds() default 60;
}
