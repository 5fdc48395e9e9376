package org.servicefarm.shell.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;

/** Everything the commands print, as plain functions of API records (tested without Karaf). */
final class Formats {

    private Formats() {
    }

    /** The answer to farm:request, several lines for GRANTED and RETRY_LATER, one for NEVER. */
    static String outcome(ServiceRequest request, Outcome outcome) {
        StringBuilder out = new StringBuilder();
        if (outcome instanceof Outcome.Granted granted) {
            out.append("GRANTED ").append(request.service()).append(" at ").append(granted.endpoint()).append('\n');
            line(out, "vm", granted.vmId());
            line(out, "host", Objects.toString(granted.hostId(), "-"));
            line(out, "activation", granted.activation().name());
            line(out, "elapsed", millis(granted.elapsed()));
            if (granted.offering() != null) {
                offering(out, granted.offering(), granted.filledIn());
            }
        } else if (outcome instanceof Outcome.RetryLater retry) {
            out.append("RETRY_LATER ").append(request.service()).append(": retry after ")
                    .append(retry.retryAfterSeconds()).append(" s").append('\n');
            line(out, "detail", Objects.toString(retry.detail(), "-"));
            line(out, "elapsed", millis(retry.elapsed()));
            if (retry.offering() != null) {
                offering(out, retry.offering(), retry.filledIn());
            }
        } else {
            Outcome.Never never = (Outcome.Never) outcome;
            out.append("NEVER ").append(request.service()).append(": ").append(never.reason()).append('\n');
        }
        return out.toString();
    }

    private static void offering(StringBuilder out, Offering offering, List<String> filled) {
        Environment env = offering.environment();
        line(out, "offering", offering.key());
        field(out, "version", offering.version(), filled);
        field(out, "os", env.os(), filled);
        field(out, "server", env.server(), filled);
        field(out, "runtime", env.runtime(), filled);
        field(out, "patches", env.patches().isEmpty() ? "none" : String.join(", ", env.patches()), filled);
        field(out, "securityLevel", offering.securityLevel(), filled);
        out.append(filled.isEmpty() ? "  the request named every field\n"
                : "  filled in by the directory: " + String.join(", ", filled) + "\n");
    }

    private static void line(StringBuilder out, String name, String value) {
        out.append(String.format(Locale.ROOT, "  %-11s %s%n", name, value));
    }

    private static void field(StringBuilder out, String name, String value, List<String> filled) {
        out.append(String.format(Locale.ROOT, "    %-14s %s%s%n", name, value,
                filled.contains(name) ? "   (filled in)" : ""));
    }

    static String millis(Duration duration) {
        return duration == null ? "-" : duration.toMillis() + " ms";
    }

    /** How long ago, at the coarsest useful unit: "12s ago", "3m ago", "5h ago", "2d ago". */
    static String ago(Instant when, Instant now) {
        if (when == null) {
            return "never";
        }
        long seconds = Math.max(0, Duration.between(when, now).getSeconds());
        if (seconds < 60) {
            return seconds + "s ago";
        }
        if (seconds < 3600) {
            return seconds / 60 + "m ago";
        }
        if (seconds < 86400) {
            return seconds / 3600 + "h ago";
        }
        return seconds / 86400 + "d ago";
    }

    static String capacity(Capacity capacity) {
        return capacity.vcpus() + " vCPU, " + capacity.memoryMiB() + " MiB, " + capacity.vms() + " VMs";
    }

    static String percent(double load) {
        return Math.round(load * 100) + "%";
    }

    static String endpoint(Endpoint endpoint) {
        return endpoint == null ? "-" : endpoint.toString();
    }

    static final List<String> VM_COLUMNS =
            List.of("ID", "State", "Host", "Offering", "Endpoint", "Grants", "Last used");

    static List<String> vmRow(VmRecord vm, Instant now) {
        return List.of(vm.id(), vm.state().name(), vm.hostId(), vm.offering().key(), endpoint(vm.endpoint()),
                Long.toString(vm.grants()), ago(vm.lastUsedAt(), now));
    }

    static final List<String> HOST_COLUMNS =
            List.of("Name", "Driver", "Zone", "Cost/h", "Capacity", "Used", "Load", "Connected");

    static List<String> hostRow(HostStatus status) {
        return List.of(status.name(), status.host().driver(), status.host().securityZone(),
                String.format(Locale.ROOT, "%.2f", status.host().costPerHour()), capacity(status.host().capacity()),
                capacity(status.used()), percent(status.load()),
                status.connected() ? "yes" : "no" + (status.detail() == null ? "" : ": " + status.detail()));
    }

    static final List<String> OFFERING_COLUMNS =
            List.of("Service", "Version", "OS", "Server", "Runtime", "Patches", "Security");

    static List<String> offeringRow(Offering offering) {
        Environment env = offering.environment();
        return List.of(offering.service(), offering.version(), env.os(), env.server(), env.runtime(),
                env.patches().isEmpty() ? "-" : String.join(",", env.patches()), offering.securityLevel());
    }
}
