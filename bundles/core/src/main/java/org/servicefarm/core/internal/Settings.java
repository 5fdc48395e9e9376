package org.servicefarm.core.internal;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;

/** The manager's configuration, parsed and checked once per change. */
record Settings(Duration defaultDeadline, Duration maxDeadline, int vmCap, Capacity vmSize,
                double requestsPerMinutePerVm, Map<String, Tier> tiers, String defaultTier,
                Map<String, Integer> servicePorts, int workers, Duration createEstimate, Duration failureRetryAfter,
                EndpointProbe.Timing probe, Duration unreachableHostGrace, int createAttempts,
                int wakeAttempts) {

    /**
     * A customer tier.
     *
     * @param maxReplicas   the most VMs one offering may have for requests of this tier
     * @param loadThreshold the load (share of a VM's requests per minute) above which a VM counts as busy
     *                      and this tier's requests prefer another or a new one
     */
    record Tier(String name, int maxReplicas, double loadThreshold) {
    }

    static Settings from(FarmServiceManager.Config c) {
        Map<String, Tier> tiers = new LinkedHashMap<>();
        for (String entry : Lists.split(c.tiers())) {
            String[] parts = entry.split(":");
            if (parts.length != 3) {
                throw new IllegalArgumentException("tier '" + entry + "' must be name:maxReplicas:loadThreshold");
            }
            try {
                tiers.put(parts[0].trim(), new Tier(parts[0].trim(), Integer.parseInt(parts[1].trim()),
                        Double.parseDouble(parts[2].trim())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("tier '" + entry.trim() + "' must be name:maxReplicas:loadThreshold, "
                        + "a whole number and a number");
            }
        }
        if (!tiers.containsKey(c.defaultTier())) {
            throw new IllegalArgumentException("default tier '" + c.defaultTier() + "' is not one of " + tiers.keySet());
        }
        Map<String, Integer> ports = ports(c.servicePorts());
        positive("vm.cap", c.vm_cap());
        positive("workers", c.workers());
        positive("vm.requestsPerMinute", c.vm_requestsPerMinute());
        if (c.unreachableHost_grace_s() < 0) {
            throw new IllegalArgumentException("unreachableHost.grace.s must not be negative, not "
                    + c.unreachableHost_grace_s());
        }
        if (c.create_attempts() < 1 || c.create_attempts() > 10) {
            throw new IllegalArgumentException("create.attempts must be 1 to 10: " + c.create_attempts());
        }
        if (c.wake_attempts() < 1 || c.wake_attempts() > 10) {
            throw new IllegalArgumentException("wake.attempts must be 1 to 10: " + c.wake_attempts());
        }
        return new Settings(Duration.ofMillis(c.deadline_default_ms()), Duration.ofMillis(c.deadline_max_ms()),
                c.vm_cap(), new Capacity(c.vm_vcpus(), c.vm_memoryMiB(), 1), c.vm_requestsPerMinute(),
                java.util.Collections.unmodifiableMap(tiers), c.defaultTier(), Map.copyOf(ports), c.workers(),
                Duration.ofMillis(c.estimate_create_ms()), Duration.ofSeconds(c.retryAfter_failure_s()),
                new EndpointProbe.Timing(Duration.ofMillis(c.probe_timeout_ms()), Duration.ofMillis(c.probe_interval_ms()),
                        Duration.ofMillis(c.probe_limit_ms())),
                Duration.ofSeconds(c.unreachableHost_grace_s()), c.create_attempts(), c.wake_attempts());
    }

    private static void positive(String key, double value) {
        if (!(value > 0)) {
            throw new IllegalArgumentException(key + " must be positive, not " + (value == Math.rint(value)
                    ? String.valueOf((long) value) : String.valueOf(value)));
        }
    }

    /** Parses {@code service=port} entries ('*' the default) into a map. */
    static Map<String, Integer> ports(String[] servicePorts) {
        Map<String, Integer> ports = new HashMap<>();
        for (String entry : Lists.split(servicePorts)) {
            String[] parts = entry.split("=");
            int port;
            try {
                port = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : 0;
            } catch (NumberFormatException e) {
                port = 0;
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("service port '" + entry + "' must be service=port, a port from 1 "
                        + "to 65535");
            }
            ports.put(parts[0].trim(), port);
        }
        return ports;
    }

    /**
     * The services a VM of the offering runs, as its {@link VmSpec#services()} name them: the offering's own, on its
     * guest port in {@code ports} (its own, else the default ('*'), else 80).
     */
    static List<VmSpec.GuestService> guestServices(Map<String, Integer> ports, Offering offering) {
        String service = offering.service();
        return List.of(new VmSpec.GuestService(service, ports.getOrDefault(service, ports.getOrDefault("*", 80))));
    }

    Tier tier(String name) {
        Tier tier = tiers.get(name == null ? defaultTier : name);
        if (tier == null) {
            throw new InvalidRequestException("tier", "unknown tier '" + name + "'; tiers: " + List.copyOf(tiers.keySet()));
        }
        return tier;
    }

    List<VmSpec.GuestService> guestServices(Offering offering) {
        return guestServices(servicePorts, offering);
    }
}
