package org.servicefarm.shell.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.PlacementExplanation;

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

    /** The answer to farm:explain: what the manager would do, then how the host would be chosen. */
    static String explanation(ServiceRequest request, Explanation explanation) {
        StringBuilder out = new StringBuilder();
        out.append("EXPLAIN ").append(request.service()).append(": would ").append(explanation.action()).append('\n');
        PlacementExplanation placement = explanation.placement();
        if (placement != null) {
            line(out, "strategy", placement.strategy() + " (looked at " + placement.examined() + " of "
                    + placement.hosts() + " hosts)");
            for (PlacementExplanation.Removal removal : placement.removed()) {
                line(out, "removed", removal.filter() + ": " + removal.hosts() + " host(s), e.g. " + removal.example());
            }
            int rank = 1;
            for (Candidate candidate : placement.candidates()) {
                StringBuilder scores = new StringBuilder();
                candidate.scores().forEach((weigher, score) -> scores.append(scores.length() == 0 ? "" : ", ")
                        .append(weigher.key()).append(' ').append(String.format(Locale.ROOT, "%.3f", score)));
                line(out, rank == 1 ? "candidates" : "", String.format(Locale.ROOT, "%d. %-16s score %.3f  (weighers: %s)",
                        rank++, candidate.name(), candidate.score(), scores));
            }
            line(out, "chosen", placement.chosen() == null ? "none: " + placement.reason() : placement.chosen());
        }
        line(out, "elapsed", millis(explanation.elapsed()));
        if (explanation.offering() != null) {
            offering(out, explanation.offering(), explanation.filledIn());
        }
        out.append("  nothing was created or changed\n");
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
                capacity(status.used()), percent(status.load()), state(status));
    }

    /** Connected or why not, then drained and a failing driver, which keep placement away too. */
    private static String state(HostStatus status) {
        String state = status.connected() ? "yes" : "no" + (status.detail() == null ? "" : ": " + status.detail());
        if (status.drained()) {
            state += ", drained";
        }
        if (status.health().consecutiveFailures() > 0) {
            state += ", driver failed " + status.health().consecutiveFailures() + " time(s) in a row";
        }
        return state;
    }

    static final List<String> OFFERING_COLUMNS =
            List.of("Service", "Version", "OS", "Server", "Runtime", "Patches", "Security");

    static List<String> offeringRow(Offering offering) {
        Environment env = offering.environment();
        return List.of(offering.service(), offering.version(), env.os(), env.server(), env.runtime(),
                env.patches().isEmpty() ? "-" : String.join(",", env.patches()), offering.securityLevel());
    }
}
