package org.servicefarm.driver.xapi.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The xapi driver's own settings (PID {@value XapiDriver#PID}): which pools hosts may name and the credentials the
 * farm logs in with, which only the operator of this appliance may choose. A host configuration (or a REST client)
 * names one of these pools as its uri and sets only the {@link XapiHostSettings per-host keys}: a host registered
 * over REST can never send the pool's credentials anywhere else.
 */
@ObjectClassDefinition(name = "ServiceFarm xapi driver",
        description = "Runs the farm's VMs on XenServer / XCP-ng pools over XAPI's JSON-RPC. Per-host settings "
                + "(template, network, storage) are hypervisor.* keys of the host configurations.")
@interface XapiDriverConfig {

    @AttributeDefinition(description = "The pools hosts may name as their uri: https://MASTER[:PORT] (its "
            + "certificate checked, see certificates), or http://127.0.0.1:PORT for a pool on this machine only (a "
            + "simulator): credentials never travel unencrypted off the machine.")
    String[] pools() default {};

    @AttributeDefinition(description = "A PEM file with the certificates (or their CA) the pools' TLS "
            + "certificates are checked against, in place of this JVM's trust store: XenServer and XCP-ng make "
            + "their own self-signed one. Empty: the JVM's trust store.")
    String certificates() default "";

    @AttributeDefinition(description = "The user the farm logs in to every pool as.")
    String username() default "root";

    @AttributeDefinition(name = "Password", description = "The user's password (a private property: not "
            + "copied, not shown).", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
    String _password() default "";

    @AttributeDefinition(name = "Call timeout (s)", description = "How long one XAPI call may take.")
    long callTimeoutSeconds() default 120;

    @AttributeDefinition(name = "Operation timeout (s)", description = "How long a power operation (start, "
            + "suspend, resume, shutdown) may take: run as a XAPI task and followed with short calls, so a "
            + "suspend that writes many GiB outlasts the call timeout.")
    long operationTimeoutSeconds() default 1800;

    @AttributeDefinition(name = "Upload timeout (s)", description = "How long uploading one disk may take.")
    long uploadTimeoutSeconds() default 900;

    @AttributeDefinition(name = "Boot disk directory", description = "Where the boot disks made from images "
            + "(kernel, initrd and a GRUB menu in an ext4 file system) are kept before they are uploaded.")
    String stateDir() default "${karaf.data}/servicefarm/xapi";

    @AttributeDefinition(description = "The mke2fs that makes boot disks (Debian: e2fsprogs).")
    String mke2fs() default "/usr/sbin/mke2fs";
}
