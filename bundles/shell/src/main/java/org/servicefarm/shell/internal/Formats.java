package org.servicefarm.shell.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeMap;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.Explanation;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.placement.Candidate;
import org.servicefarm.api.placement.PlacementExplanation;
import org.servicefarm.api.image.BuildOutcome;
import org.servicefarm.api.image.ComponentInfo;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.keepalive.KeepAliveOutlook;

/** Everything the commands print, as plain functions of API records (tested without Karaf). */
final class Formats {

    private Formats() {
    }

    /**
     * The answer to farm:request, several lines for GRANTED and RETRY_LATER; for NEVER the reason, then each of
     * {@code suggestions} as a farm:request command line that can be run as it is.
     */
    static String outcome(ServiceRequest request, Outcome outcome, List<ServiceRequest> suggestions) {
        StringBuilder out = new StringBuilder(outcome(request, outcome));
        if (outcome instanceof Outcome.Never) {
            for (ServiceRequest suggestion : suggestions) {
                line(out, "try", command(suggestion));
            }
        }
        return out.toString();
    }

    /** farm:request's command line for {@code request} (names pass the API's grammar: nothing needs quoting). */
    static String command(ServiceRequest request) {
        StringBuilder command = new StringBuilder("farm:request");
        option(command, "--version", request.version());
        option(command, "--os", request.environment().os());
        option(command, "--server", request.environment().server());
        option(command, "--runtime", request.environment().runtime());
        request.environment().patches().forEach(patch -> option(command, "--patch", patch));
        option(command, "--security-level", request.securityLevel());
        option(command, "--tier", request.tier());
        if (request.deadline() != null) {
            option(command, "--deadline", Long.toString(request.deadline().toMillis()));
        }
        return command.append(' ').append(request.service()).toString();
    }

    private static void option(StringBuilder command, String option, String value) {
        if (value != null) {
            command.append(' ').append(option).append(' ').append(value);
        }
    }

    /** The answer to farm:request, several lines for GRANTED and RETRY_LATER, one for NEVER. */
    static String outcome(ServiceRequest request, Outcome outcome) {
        StringBuilder out = new StringBuilder();
        if (outcome instanceof Outcome.Granted granted) {
            out.append("GRANTED ").append(request.service()).append(" at ").append(granted.endpoint()).append('\n');
            if (granted.vmId() != null) { // none when the host runs the service itself (NATIVE)
                line(out, "vm", granted.vmId());
            }
            line(out, "host", Objects.toString(granted.hostId(), "-"));
            line(out, "activation", granted.activation().name() + (granted.start() == null ? ""
                    : granted.start() == Outcome.Start.CHECKPOINT ? " from a checkpoint" : " by a boot"));
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
            if (retry.retryTicket() != null) {
                line(out, "retry with", "--retry-ticket " + retry.retryTicket());
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
        if (explanation.reuse() != null) {
            line(out, "reuse", explanation.reuse().policy() + ": " + explanation.reuse().reason());
        }
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

    static void line(StringBuilder out, String name, String value) {
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
        return span(Duration.between(when, now)) + " ago";
    }

    /** A duration at the coarsest useful unit: "12s", "3m", "5h", "2d" (negative ones as 0s). */
    static String span(Duration duration) {
        long seconds = Math.max(0, duration.getSeconds());
        if (seconds < 60) {
            return seconds + "s";
        }
        if (seconds < 3600) {
            return seconds / 60 + "m";
        }
        if (seconds < 86400) {
            return seconds / 3600 + "h";
        }
        return seconds / 86400 + "d";
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

    static final List<String> NATIVE_COLUMNS =
            List.of("Name", "Host", "Offering", "Endpoint", "Zone", "Answering", "Since", "Grants");

    static List<String> nativeRow(NativeServiceStatus status) {
        NativeService service = status.service();
        return List.of(service.name(), service.host(), service.offering().key(), service.endpoint().toString(), service.securityZone(),
                status.answering() ? "yes" : "no" + (status.detail() == null ? "" : ": " + status.detail()),
                status.since() == null ? "-" : status.since().toString(), Long.toString(status.grants()));
    }

    static final List<String> HOST_COLUMNS =
            List.of("Name", "Driver", "Zone", "Cost/h", "Capacity", "Used", "Load", "Staging", "Connected");

    static List<String> hostRow(HostStatus status) {
        return List.of(status.name(), status.host().driver(), status.host().securityZone(),
                String.format(Locale.ROOT, "%.2f", status.host().costPerHour()), capacity(status.host().capacity()),
                capacity(status.used()), percent(status.load()),
                status.staging() == null ? "-" : stagingUsed(status.staging()), state(status));
    }

    /** The used share of a staging space, floored: 94.6% used is not yet 95% (the space filter's default). */
    private static String stagingUsed(StagingSpace space) {
        return (long) Math.floor(space.usedPercent()) + "% used";
    }

    /** farm:host's line for the staging space: its use, and what is available of how much; "-" while not read. */
    static String staging(StagingSpace space) {
        return space == null ? "- (not read yet, or its driver does not say)" : stagingUsed(space) + ", "
                + size(space.availableBytes()) + " of " + size(space.capacityBytes()) + " available";
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

    /** farm:host: one host, a line per field (its driver properties left out, as REST leaves them out). */
    static String host(HostStatus status) {
        HostRecord host = status.host();
        StringBuilder out = new StringBuilder(host.name()).append('\n');
        line(out, "driver", host.driver());
        line(out, "uri", host.uri());
        line(out, "zone", host.securityZone());
        line(out, "cost/h", String.format(Locale.ROOT, "%.2f", host.costPerHour()));
        line(out, "speed", String.format(Locale.ROOT, "%.2f", host.speed()));
        line(out, "capacity", capacity(host.capacity()));
        line(out, "used", capacity(status.used()));
        line(out, "free", capacity(status.free()));
        line(out, "load", percent(status.load()));
        line(out, "staging", staging(status.staging()));
        line(out, "connected", state(status));
        if (status.health().lastFailure() != null) {
            line(out, "last error", status.health().lastFailureAt() + ": " + status.health().lastFailure());
        }
        line(out, "levels", status.securityLevels().isEmpty() ? "-" : new TreeMap<>(status.securityLevels())
                .toString());
        return out.toString();
    }

    /** farm:vm: one VM, a line per field. */
    static String vm(VmRecord vm, Instant now) {
        StringBuilder out = new StringBuilder(vm.id()).append(": ").append(vm.state()).append(" on ")
                .append(vm.hostId()).append('\n');
        line(out, "offering", vm.offering().key());
        line(out, "image", vm.imageId());
        line(out, "endpoint", endpoint(vm.endpoint()));
        if (vm.endpoints().size() > 1) {
            new TreeMap<>(vm.endpoints()).forEach((service, at) -> line(out, "", service + " " + at));
        }
        line(out, "resources", capacity(vm.resources()));
        line(out, "created", Objects.toString(vm.createdAt(), "-"));
        line(out, "in state", "since " + Objects.toString(vm.inStateSince(), "-"));
        line(out, "last used", ago(vm.lastUsedAt(), now));
        line(out, "grants", Long.toString(vm.grants()));
        if (vm.archive() != null) {
            line(out, "archive", vm.archive().tier() + ", " + size(vm.archive().bytes()) + " (of "
                    + size(vm.archive().rawBytes()) + " saved)");
        }
        line(out, "detail", Objects.toString(vm.detail(), "-"));
        return out.toString();
    }

    /** farm:image: one image and its build, a line per field. */
    static String image(ImageStatus image, Instant now) {
        StringBuilder out = new StringBuilder(image.id()).append(": ").append(image.state()).append(' ')
                .append(image.kind()).append('\n');
        line(out, "offering", image.offering() == null ? "-" : image.offering().key());
        line(out, "progress", percentDone(image.progress()) + (image.state() == ImageStatus.State.BUILDING
                ? progressLine(image.progress()).stripTrailing().replaceFirst("^\\s+", ": ") : ""));
        line(out, "size", size(image.sizeBytes()));
        line(out, "components", image.components().isEmpty() ? "-" : String.join(" ", image.components()));
        line(out, "created", Objects.toString(image.createdAt(), "-"));
        line(out, "last used", ago(image.lastUsedAt(), now));
        line(out, "uses", image.uses() + " (" + image.inUse() + " VM(s) run from it now)");
        line(out, "detail", Objects.toString(image.detail(), "-"));
        return out.toString();
    }

    static final List<String> OFFERING_COLUMNS =
            List.of("Service", "Version", "OS", "Server", "Runtime", "Patches", "Security");

    static List<String> offeringRow(Offering offering) {
        Environment env = offering.environment();
        return List.of(offering.service(), offering.version(), env.os(), env.server(), env.runtime(),
                env.patches().isEmpty() ? "-" : String.join(",", env.patches()), offering.securityLevel());
    }

    static final List<String> COMPONENT_COLUMNS = List.of("ID", "Kind", "Provides", "Needs", "Size");

    static List<String> componentRow(ComponentInfo component) {
        return List.of(component.id(), component.kind().prefix(), String.join(" ", component.provides()),
                component.needs().isEmpty() ? "-" : String.join(" ", component.needs()), size(component.sizeBytes()));
    }

    static final List<String> IMAGE_COLUMNS =
            List.of("ID", "State", "Kind", "Offering", "Progress", "Size", "Uses", "In use", "Last used", "Note");

    static List<String> imageRow(ImageStatus image, Instant now) {
        return List.of(image.id(), image.state().name(), image.kind().name(),
                image.offering() == null ? "-" : image.offering().key(), percentDone(image.progress()),
                size(image.sizeBytes()), Long.toString(image.uses()), Integer.toString(image.inUse()),
                ago(image.lastUsedAt(), now), Objects.toString(image.detail(), ""));
    }

    static final List<String> DEMAND_COLUMNS = List.of("Offering", "Requests", "Window", "Threshold", "Built ahead");

    static List<String> demandRow(Demand demand) {
        return List.of(demand.offering().key(), Long.toString(demand.requests()), demand.window().toSeconds() + " s",
                Long.toString(demand.threshold()), Objects.toString(demand.prebuiltImage(), "-"));
    }

    static final List<String> KEEPALIVE_COLUMNS = List.of("Offering", "Last request", "Idle times",
            "Wanted in memory", "Reading");

    static List<String> outlookRow(KeepAliveOutlook outlook, Instant now) {
        return List.of(outlook.offering().key(), ago(outlook.lastRequest(), now), Long.toString(outlook.idleTimes()),
                inMemory(outlook, now), outlook.reading());
    }

    /** When the policy wants a VM of the combination in memory: "now, 3m more", "in 7m, for 1m", or not planned. */
    private static String inMemory(KeepAliveOutlook outlook, Instant now) {
        if (outlook.warmFrom() == null) {
            return "not before its next request";
        }
        if (!outlook.warmFrom().isAfter(now)) {
            return "now, " + span(Duration.between(now, outlook.warmUntil())) + " more";
        }
        return "in " + span(Duration.between(now, outlook.warmFrom())) + ", for "
                + span(Duration.between(outlook.warmFrom(), outlook.warmUntil()));
    }

    /** The first lines of farm:build: which image the request resolved to, and what the directory filled in. */
    static String buildAccepted(ServiceRequest request, BuildOutcome.Accepted accepted) {
        ImageStatus image = accepted.image();
        StringBuilder out = new StringBuilder();
        out.append(image.state() == ImageStatus.State.BUILDING ? "BUILDING " : "IMAGE ").append(request.service())
                .append(": image ").append(image.id()).append(" for ").append(accepted.offering().key()).append('\n');
        out.append(accepted.filledIn().isEmpty() ? "  the request named every field\n"
                : "  filled in by the directory: " + String.join(", ", accepted.filledIn()) + "\n");
        return out.toString();
    }

    /** One progress line: the step, and the bytes to the nearest tenth below (so it changes ten times at most). */
    static String progressLine(ImageStatus.Progress progress) {
        String step = progress.step() == 0 ? "  queued" : String.format(Locale.ROOT, "  step %d/%d %s", progress.step(),
                progress.steps(), progress.doing());
        if (progress.bytesTotal() <= 0) {
            return step + "\n";
        }
        int tenths = (int) Math.floor(progress.fraction() * 10);
        return String.format(Locale.ROOT, "%s, %d%% of %s%n", step, tenths * 10, size(progress.bytesTotal()));
    }

    /** The last line of farm:build for an image that is ready or failed. */
    static String buildEnded(ImageStatus image) {
        if (image.state() == ImageStatus.State.FAILED) {
            return "FAILED " + image.id() + ": " + Objects.toString(image.detail(), "no reason given") + "\n";
        }
        boolean compositionOnly = image.image() != null && image.image().compositionOnly();
        return "READY " + image.id() + ": " + (compositionOnly ? "a composition only (no bootable files): "
                + image.detail() : size(image.sizeBytes()) + " in the store, " + image.components().size()
                + " components") + "\n";
    }

    static String stillBuilding(ImageStatus image) {
        return "  still building in the background: farm:images shows image " + image.id() + "\n";
    }

    static String percentDone(ImageStatus.Progress progress) {
        return Math.round(progress.fraction() * 100) + "%";
    }

    /** Bytes in the largest binary unit that leaves at least 1, with one decimal: "320 B", "1.5 KiB", "24.9 MiB". */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes / 1024.0;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
