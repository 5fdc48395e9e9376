package org.servicefarm.driver.libvirt.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The libvirt driver's own settings (PID {@value LibvirtDriver#PID}): where saved states go, and the
 * allow-list of libvirt URIs hosts may name ({@link HostRules}). Per-host settings live in the host
 * configurations. The shipped defaults are etc/org.servicefarm.driver.libvirt.cfg.
 */
@ObjectClassDefinition(name = "ServiceFarm libvirt driver",
        description = "Settings shared by every host connected through libvirt, and which libvirt URIs a host may "
                + "name. Per-host settings (URI, boot time, endpoint host, port range) are hypervisor.* keys of the "
                + "host configurations.")
@interface LibvirtDriverConfig {

    @AttributeDefinition(name = "State directory",
            description = "The directory under which each host keeps the saved state of its archived VMs, one "
                    + "sub-directory per host. ${karaf.data} is replaced by the Karaf data directory, or by the "
                    + "Java temporary directory outside Karaf. For QEMU hosts libvirtd writes these files, so it "
                    + "must be able to write there.")
    String stateDir() default LibvirtDriver.DEFAULT_STATE_DIR;

    @AttributeDefinition(name = "Test node directory",
            description = "The directory from which hosts on libvirt's test driver (test:///<file>) may read their "
                    + "node files. A host's file must be a readable regular file inside this directory, named "
                    + "without '.' or '..' segments, and no symbolic link may lead out of the directory. "
                    + "${karaf.etc} is replaced by the Karaf etc directory. Left empty, no test node file is allowed.")
    String testNodeDirectory() default "${karaf.etc}/servicefarm/hosts";

    @AttributeDefinition(name = "Allow test:///default",
            description = "Whether hosts may name libvirt's built-in test host, test:///default, which reads no file.")
    boolean testDefaultAllowed() default true;

    @AttributeDefinition(name = "Local URIs",
            description = "The URIs of hypervisors on this machine that hosts may name, matched exactly. Only "
                    + "qemu:///system and qemu:///session can be allowed; other entries are ignored with a warning.")
    String[] localUris() default {"qemu:///system"};

    @AttributeDefinition(name = "Remote transports",
            description = "The URI schemes of remote hypervisors that hosts may name. Only qemu+tls, qemu+ssh, "
                    + "qemu+libssh, qemu+libssh2 and qemu+tcp can be allowed (qemu+tcp is unencrypted); qemu+unix "
                    + "and qemu+ext never can. A remote URI must name a host that is not this machine (not loopback, "
                    + "not the any-local address, not an address of one of its interfaces, also once its name is "
                    + "resolved), must not carry a password, and its path must be /system or /session.")
    String[] remoteSchemes() default {"qemu+tls", "qemu+ssh"};

    @AttributeDefinition(name = "Remote query parameters",
            description = "The query parameters a remote URI may carry, e.g. no_tty. Parameters that run a program, "
                    + "name a local file or socket, or weaken verification (command, socket, netcat, keyfile, "
                    + "known_hosts, known_hosts_verify, proxy, pkipath, name, no_verify, tls_priority) are never "
                    + "allowed, whatever this list says.")
    String[] remoteQueryParameters() default {"no_tty"};
}
