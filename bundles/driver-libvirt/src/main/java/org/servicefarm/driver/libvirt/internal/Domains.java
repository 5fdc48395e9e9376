package org.servicefarm.driver.libvirt.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.servicefarm.api.driver.HypervisorException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libvirt calls on one host's domains, by VM id: look up, define, act, list, destroy. Every failure becomes a
 * {@link HypervisorException} naming the host, the operation and the VM, in words {@link LibvirtErrors} allows.
 * Domain handles never leave this class unfreed.
 */
final class Domains {

    private static final Logger LOG = LoggerFactory.getLogger(Domains.class);
    /** virDomainUndefineFlags: also drop managed-save images and snapshot metadata, which the farm never keeps. */
    private static final int UNDEFINE_MANAGED_SAVE_AND_SNAPSHOTS = 1 | 2;

    /** A domain as listed: its name, XML, state and UUID, read in one go. */
    record Listed(String name, String xml, DomainState state, String uuid) {
    }

    @FunctionalInterface
    interface Operation {
        void apply(Domain domain) throws LibvirtException, HypervisorException;
    }

    private final String hostName;
    private final Connect libvirt;
    private final LibvirtCalls calls;

    Domains(Connect libvirt, LibvirtCalls calls) {
        this.hostName = calls.hostName();
        this.libvirt = libvirt;
        this.calls = calls;
    }

    /** Defines a domain and returns its UUID. */
    String define(String vmId, String xml) throws HypervisorException {
        Domain domain = calls.call("define", vmId, () -> libvirt.domainDefineXML(xml));
        try {
            return calls.call("read", vmId, domain::getUUIDString);
        } finally {
            free(domain);
        }
    }

    /** Runs {@code operation} on the VM's domain. */
    void run(String vmId, String what, Operation operation) throws HypervisorException {
        Domain domain = require(vmId);
        try {
            operation.apply(domain);
        } catch (LibvirtException e) {
            throw failure(what, vmId, e);
        } finally {
            free(domain);
        }
    }

    /** The state of the VM's domain. */
    DomainState state(String vmId) throws HypervisorException {
        Domain domain = require(vmId);
        try {
            return calls.call("read state of", vmId, domain::getInfo).state;
        } finally {
            free(domain);
        }
    }

    /** Restores a domain from a saved-state file (libvirt names the domain from the file). */
    void restore(String vmId, String file) throws HypervisorException {
        calls.run("restore", vmId, () -> libvirt.restore(file));
    }

    /** Every domain on the host; domains undefined while listing are skipped. */
    List<Listed> list() throws HypervisorException {
        Domain[] domains = calls.call("list domains of", hostName, () -> libvirt.listAllDomains(0));
        List<Listed> listed = new ArrayList<>(domains.length);
        try {
            for (Domain domain : domains) {
                try {
                    listed.add(new Listed(domain.getName(), domain.getXMLDesc(0), domain.getInfo().state,
                            domain.getUUIDString()));
                } catch (LibvirtException e) {
                    if (e.getError().getCode() != ErrorNumber.VIR_ERR_NO_DOMAIN) {
                        throw new HypervisorException("host " + hostName + ": cannot read a domain: "
                                + LibvirtErrors.describe(e), e);
                    }
                }
            }
        } finally {
            for (Domain domain : domains) {
                free(domain);
            }
        }
        return listed;
    }

    /** The XML and UUID of the VM's domain, or empty when the host has none. */
    Optional<Listed> find(String vmId) throws HypervisorException {
        Optional<Domain> found = lookup(vmId);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Domain domain = found.get();
        try {
            return Optional.of(new Listed(domain.getName(), domain.getXMLDesc(0), domain.getInfo().state,
                    domain.getUUIDString()));
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                return Optional.empty();
            }
            throw failure("read", vmId, e);
        } finally {
            free(domain);
        }
    }

    /**
     * Stops the VM's domain if it runs ({@code beforeStop} runs first) and undefines it; a domain that vanishes
     * meanwhile counts as done. {@code stopFailed} runs when stopping failed.
     */
    void destroy(String vmId, Runnable beforeStop, Runnable stopFailed) throws HypervisorException {
        Optional<Domain> found = lookup(vmId);
        if (found.isEmpty()) {
            return;
        }
        Domain domain = found.get();
        try {
            if (calls.call("read state of", vmId, domain::isActive) == 1) {
                beforeStop.run();
                try {
                    calls.run("destroy", vmId, domain::destroy);
                } catch (HypervisorException e) {
                    stopFailed.run();
                    if (exists(vmId)) {
                        throw e;
                    }
                    LOG.debug("VM {} on host {} vanished while being destroyed", vmId, hostName);
                }
            }
            try {
                calls.run("undefine", vmId, () -> domain.undefine(UNDEFINE_MANAGED_SAVE_AND_SNAPSHOTS));
            } catch (HypervisorException e) {
                if (exists(vmId)) {
                    throw e;
                }
            }
        } finally {
            free(domain);
        }
    }

    boolean exists(String vmId) throws HypervisorException {
        Optional<Domain> found = lookup(vmId);
        found.ifPresent(Domains::free);
        return found.isPresent();
    }

    private Domain require(String vmId) throws HypervisorException {
        return lookup(vmId).orElseThrow(() -> new HypervisorException("VM " + vmId + " is known to the farm but "
                + "host " + hostName + " has no domain for it any more"));
    }

    private Optional<Domain> lookup(String vmId) throws HypervisorException {
        ensureOpen();
        try {
            return Optional.of(libvirt.domainLookupByName(DomainXml.domainName(vmId)));
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                return Optional.empty();
            }
            throw failure("look up", vmId, e);
        }
    }

    void ensureOpen() throws HypervisorException {
        calls.ensureOpen();
    }

    private HypervisorException failure(String what, String vmId, LibvirtException e) {
        return calls.failure(what, vmId, e);
    }

    private static void free(Domain domain) {
        try {
            domain.free();
        } catch (LibvirtException e) {
            LOG.debug("freeing a domain handle failed: {}", LibvirtErrors.describe(e));
        }
    }
}
