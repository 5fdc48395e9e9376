package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.GuestInfo;
import org.servicefarm.api.driver.HostConnection;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.StagedImage;
import org.servicefarm.api.driver.VmEventListener;
import org.servicefarm.api.image.ImageRef;

/**
 * An in-memory hypervisor for the core's unit tests: it keeps guest states like a hypervisor
 * would and refuses operations a hypervisor would refuse, and a test can hold boots at a gate
 * to see what the manager does meanwhile. The real driver is tested against libvirt itself.
 * Its rules: a host's uri is {@code fake:///<anything>}, and its only property is {@code slow}.
 */
final class FakeHypervisor implements HypervisorDriver {

    final Map<String, Map<String, VmState>> guestsByHost = new ConcurrentHashMap<>();
    final Map<String, VmEventListener> listeners = new ConcurrentHashMap<>();
    final AtomicInteger stages = new AtomicInteger();
    final AtomicInteger defines = new AtomicInteger();
    final AtomicInteger destroys = new AtomicInteger();
    final AtomicInteger validations = new AtomicInteger();
    final AtomicInteger connects = new AtomicInteger();
    volatile CountDownLatch bootGate = new CountDownLatch(0);
    private final AtomicInteger nextPort = new AtomicInteger(20000);

    @Override
    public void validate(HostRecord host) {
        validations.incrementAndGet();
        if (!host.uri().startsWith("fake:///")) {
            throw new InvalidRequestException("uri", "the fake driver takes fake:/// URIs only");
        }
        for (String key : host.properties().keySet()) {
            if (!key.equals("slow")) {
                throw new InvalidRequestException("properties." + key, "properties." + key + " is not a fake setting");
            }
        }
    }

    @Override
    public HostConnection connect(HostRecord host, VmEventListener events) throws HypervisorException {
        try {
            validate(host); // a driver's connect applies its rules too
        } catch (InvalidRequestException e) {
            throw new HypervisorException(e.getMessage());
        }
        connects.incrementAndGet();
        Map<String, VmState> guests = guestsByHost.computeIfAbsent(host.name(), k -> new ConcurrentHashMap<>());
        listeners.put(host.name(), events);
        return new HostConnection() {
            @Override
            public HostRecord host() {
                return host;
            }

            @Override
            public StagedImage stage(ImageRef image) {
                stages.incrementAndGet();
                return new StagedImage(image, Map.of());
            }

            @Override
            public Map<String, Endpoint> define(org.servicefarm.api.driver.VmSpec spec) throws HypervisorException {
                if (guests.putIfAbsent(spec.vmId(), VmState.DESTROYED) != null) {
                    throw new HypervisorException("domain " + spec.vmId() + " exists");
                }
                defines.incrementAndGet();
                Map<String, Endpoint> endpoints = new java.util.HashMap<>();
                spec.services().forEach(s -> endpoints.put(s.name(), new Endpoint(host.name(), nextPort.getAndIncrement())));
                return endpoints;
            }

            @Override
            public void start(String vmId) throws HypervisorException {
                try {
                    if (!bootGate.await(10, TimeUnit.SECONDS)) {
                        throw new HypervisorException("boot of " + vmId + " timed out");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new HypervisorException("interrupted");
                }
                expect(vmId, VmState.DESTROYED);
                guests.put(vmId, VmState.ACTIVE);
            }

            @Override
            public void suspend(String vmId) throws HypervisorException {
                expect(vmId, VmState.ACTIVE);
                guests.put(vmId, VmState.SLEEPING);
            }

            @Override
            public void resume(String vmId) throws HypervisorException {
                expect(vmId, VmState.SLEEPING);
                guests.put(vmId, VmState.ACTIVE);
            }

            @Override
            public void save(String vmId) throws HypervisorException {
                if (guests.get(vmId) != VmState.ACTIVE && guests.get(vmId) != VmState.SLEEPING) {
                    throw new HypervisorException(vmId + " is not running");
                }
                guests.put(vmId, VmState.ARCHIVED);
            }

            @Override
            public void restore(String vmId) throws HypervisorException {
                expect(vmId, VmState.ARCHIVED);
                guests.put(vmId, VmState.ACTIVE);
            }

            @Override
            public void destroy(String vmId) {
                if (guests.remove(vmId) != null) {
                    destroys.incrementAndGet();
                }
            }

            @Override
            public List<GuestInfo> guests() {
                List<GuestInfo> list = new ArrayList<>();
                guests.forEach((id, state) -> list.add(new GuestInfo(id, state)));
                return list;
            }

            @Override
            public void close() {
                listeners.remove(host.name());
            }

            private void expect(String vmId, VmState state) throws HypervisorException {
                VmState actual = guests.get(vmId);
                if (actual != state) {
                    throw new HypervisorException(vmId + " is " + actual + ", not " + state);
                }
            }
        };
    }

    /** Changes a guest behind the manager's back and reports it, as a hypervisor event would. */
    void external(String host, String vmId, VmState state) {
        guestsByHost.get(host).put(vmId, state);
        listeners.get(host).onEvent(new VmEvent(host, vmId, state, "changed outside the farm"));
    }
}
