package org.servicefarm.reuse.cost.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Activation;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.reuse.ReusableVm;
import org.servicefarm.api.reuse.ReuseDecision;
import org.servicefarm.api.reuse.ReuseDecision.Step;
import org.servicefarm.api.reuse.ReuseName;
import org.servicefarm.api.reuse.ReusePolicy;
import org.servicefarm.api.reuse.ReuseRequest;

/**
 * Reuse by cost. Every way to serve is priced the same way: its host's cost per hour over {@code horizon.h} hours,
 * plus {@code delayCost} for each second a client waits for it (resume, restore or creation, as the core measures
 * them; 0 for an ACTIVE VM). So an ARCHIVED VM on a cheap host is restored rather than a SLEEPING one resumed on a
 * dear host when the hours saved outweigh the longer wait. A new VM is priced on the host placement would choose, and
 * is chosen only when it is cheaper than the best reuse by {@code margin} (a fraction): creating has costs this model
 * does not see (an image, a VM cap slot). While an ACTIVE VM has headroom it is granted, the cheapest first, and one
 * is created in the background when placement's host is cheaper than the granted VM's by the margin (within the
 * tier's maxReplicas), so the load moves to cheap hosts and the dear VM goes idle and is put to sleep.
 * <p>
 * A dedicated tier ({@code dedicated.tiers}) always gets a VM of its own: the farm does not know clients, so "its own"
 * is a VM no request was granted within {@code dedicated.idle.s}; failing one, the cheapest resting VM is woken or a
 * VM created, whatever the tier's maxReplicas (the VM cap still bounds the farm). {@code minReplicas} keeps at least
 * that many VMs of an offering ACTIVE or coming up for a tier's requests: below it one more is brought into service
 * in the background.
 * <p>
 * Ties: equal costs go to the lower load, then to the faster way back (ACTIVE, resume, restore, create), then to the
 * most recently used VM, then by VM id. Busy VMs (every one over the threshold): the least loaded, then the cheapest.
 */
@Component(configurationPid = CostReusePolicy.PID, property = "service.ranking:Integer=10")
@Designate(ocd = CostReusePolicy.Config.class)
@ReuseName("cost")
public class CostReusePolicy implements ReusePolicy {

    static final String PID = "org.servicefarm.reuse.cost";

    @ObjectClassDefinition(id = PID, name = "ServiceFarm reuse: cost",
            description = "Chooses the cheapest way to serve: a VM on a cheap host, a restore over a resume, a new "
                    + "VM on a cheaper host; dedicated tiers and minimum replicas.")
    public @interface Config {
        @AttributeDefinition(name = "horizon (h)", description = "Over how many hours a choice is priced: the "
                + "host's cost per hour times this, plus the delay's cost. Longer horizons weigh hosts' prices more "
                + "against the wait.")
        double horizon_h() default 1.0;

        @AttributeDefinition(name = "delay cost", description = "What one second of a client waiting for a VM to be "
                + "resumed, restored or created costs, in the currency of the hosts' cost per hour.")
        double delayCost() default 0.01;

        @AttributeDefinition(name = "margin", description = "How much cheaper (a fraction, 0 to 1) a new VM must be "
                + "than the best reuse for one to be created: 0.25 means at most three quarters of its cost.")
        double margin() default 0.25;

        @AttributeDefinition(name = "dedicated tiers", description = "Tiers whose requests always get a VM of their "
                + "own: one no request was granted within dedicated.idle.s, else a woken or a new one.")
        String[] dedicated_tiers() default {"dedicated"};

        @AttributeDefinition(name = "dedicated idle (s)", description = "How long after its last grant a VM counts as "
                + "free again for a dedicated tier.")
        long dedicated_idle_s() default 600;

        @AttributeDefinition(name = "minimum replicas", description = "Per tier as tier:count, comma-separated: "
                + "below that many VMs of an offering ACTIVE or coming up, a request of the tier brings one more "
                + "into service in the background.")
        String[] minReplicas() default {};

        @AttributeDefinition(name = "Service ranking", description = "The ranking of this policy among the reuse "
                + "policies the core's target matches; the highest ranking is in force.")
        int service_ranking() default 10;
    }

    /** The configuration, checked, swapped as one. */
    record Settings(double horizonHours, double delayCost, double margin, Set<String> dedicated, Duration idle,
                    Map<String, Integer> minReplicas) {
    }

    private final ConfiguredSettings<Config, Settings> settings = new ConfiguredSettings<>(PID, Config.class,
            CostReusePolicy::settings);

    @Activate
    @Modified
    public void configure(Config config, ComponentContext context) {
        settings.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        settings.close();
    }

    static Settings settings(Config c) {
        if (!(c.horizon_h() >= 0) || !(c.delayCost() >= 0) || !(c.margin() >= 0 && c.margin() < 1)
                || c.dedicated_idle_s() < 0) {
            throw new IllegalArgumentException("horizon.h, delayCost and dedicated.idle.s must be 0 or more, margin "
                    + "from 0 to below 1");
        }
        Map<String, Integer> min = new HashMap<>();
        for (String entry : split(c.minReplicas())) {
            String[] parts = entry.split(":");
            int count;
            try {
                count = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : -1;
            } catch (NumberFormatException e) {
                count = -1;
            }
            if (count < 0) {
                throw new IllegalArgumentException("minReplicas entry '" + entry + "' must be tier:count");
            }
            min.put(parts[0].trim(), count);
        }
        return new Settings(c.horizon_h(), c.delayCost(), c.margin(), Set.copyOf(split(c.dedicated_tiers())),
                Duration.ofSeconds(c.dedicated_idle_s()), Map.copyOf(min));
    }

    private static List<String> split(String[] values) {
        List<String> out = new ArrayList<>();
        for (String value : values == null ? new String[0] : values) {
            for (String part : value.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        }
        return out;
    }

    /** One way to serve, priced: a VM to grant or wake ({@code vm}), or a new VM on {@code host} ({@code vm} null). */
    record Option(ReusableVm vm, HostStatus host, Activation how, double cost) {
        String describe() {
            if (host == null && how == Activation.CREATED) {
                return "a new VM (no host can take one now)";
            }
            String where = host == null ? "an unknown host" : host.name() + String.format(Locale.ROOT, " (%.2f/h)",
                    host.host().costPerHour());
            return switch (how) {
                case ACTIVE -> "ACTIVE VM " + vm.id() + " on " + where;
                case RESUMED -> "resuming SLEEPING VM " + vm.id() + " on " + where;
                case RESTORED -> "restoring ARCHIVED VM " + vm.id() + " on " + where;
                case CREATED -> "a new VM on " + where;
                case NATIVE -> "the service " + where + " runs itself"; // the core's own, before any policy is asked
            } + String.format(Locale.ROOT, ", cost %.3f", cost);
        }
    }

    private static final Comparator<Option> CHEAPEST = Comparator.comparingDouble(Option::cost)
            .thenComparingDouble(o -> o.vm() == null ? 0 : o.vm().load())
            .thenComparing(Option::how) // ACTIVE, RESUMED, RESTORED, CREATED: the faster way back first
            .thenComparing(o -> o.vm() == null ? Instant.MIN : o.vm().vm().lastActivity(), Comparator.reverseOrder())
            .thenComparing(o -> o.vm() == null ? "" : o.vm().id());

    @Override
    public ReuseDecision decide(ReuseRequest request) {
        Settings s = settings.inForce();
        String tier = request.tier().name();
        double threshold = request.tier().loadThreshold();
        Optional<ReuseDecision> join = request.join();
        if (s.dedicated().contains(tier)) {
            return dedicated(request, s, join);
        }
        Optional<Option> active = request.vms().stream().filter(ReusableVm::grantable).filter(v -> v.load() <= threshold)
                .map(v -> option(v, Activation.ACTIVE, request, s)).min(CHEAPEST);
        if (active.isPresent()) {
            return withHeadroom(active.get(), request, s, join.isPresent());
        }
        Optional<ReusableVm> busy = request.vms().stream().filter(ReusableVm::grantable)
                .min(Comparator.comparingDouble(ReusableVm::load).thenComparingDouble(ReusableVm::costPerHour)
                        .thenComparing(ReusableVm::id));
        String busyWhy = String.format(Locale.ROOT, "every ACTIVE VM is over tier %s's threshold %.2f", tier, threshold);
        if (busy.isPresent()) {
            VmRecord grant = busy.get().vm();
            String why = busyWhy + String.format(Locale.ROOT, "; the least busy (load %.2f) serves now", busy.get().load());
            if (join.isPresent()) {
                return ReuseDecision.grant(grant, why + " while " + join.get().reason());
            }
            boolean mayCreate = request.vms().size() < request.tier().maxReplicas();
            Optional<Option> next = cheapestNewServer(request, s, mayCreate);
            return next.map(o -> ReuseDecision.grantAnd(grant, step(o), subject(o), why + "; cheapest way to add one: "
                    + o.describe() + " (in the background)")).orElseGet(() -> ReuseDecision.grant(grant, why
                    + "; no more: " + request.vms().size() + " VMs, tier " + tier + "'s maxReplicas is "
                    + request.tier().maxReplicas()));
        }
        if (join.isPresent()) {
            return join.get();
        }
        Option next = cheapestNewServer(request, s, true).orElseThrow(); // a new VM is always an option here
        ReuseDecision decision = ReuseDecision.then(step(next), subject(next), "no ACTIVE VM offers it; cheapest: "
                + next.describe());
        return next.how() == Activation.CREATED ? request.waitForResting().orElse(decision) : decision;
    }

    /** An ACTIVE VM with headroom is granted; more in the background for minReplicas or a cheaper host. */
    private ReuseDecision withHeadroom(Option best, ReuseRequest request, Settings s, boolean workUnderWay) {
        VmRecord grant = best.vm().vm();
        String why = String.format(Locale.ROOT, "cheapest ACTIVE VM with headroom: %s, load %.2f within %.2f",
                best.describe(), best.vm().load(), request.tier().loadThreshold());
        if (workUnderWay) {
            return ReuseDecision.grant(grant, why);
        }
        int min = s.minReplicas().getOrDefault(request.tier().name(), 0);
        long serving = request.vms().stream().filter(v -> v.grantable() || comingUp(v.vm().state())).count();
        if (serving < min) {
            Optional<Option> next = cheapestNewServer(request, s, true);
            if (next.isPresent()) {
                return ReuseDecision.grantAnd(grant, step(next.get()), subject(next.get()), why + "; " + serving
                        + " of tier " + request.tier().name() + "'s minimum " + min + " replicas serve, so "
                        + next.get().describe() + " (in the background)");
            }
        }
        if (request.vms().size() < request.tier().maxReplicas() && best.host() != null) {
            Optional<HostStatus> host = request.newHost().choose();
            double cheaperThan = best.host().host().costPerHour() * (1 - s.margin());
            if (host.isPresent() && host.get().host().costPerHour() < cheaperThan) {
                return ReuseDecision.grantAnd(grant, Step.CREATE, null, why + String.format(Locale.ROOT,
                        "; host %s (%.2f/h) is cheaper than %s by more than the margin %.2f: a new VM there (in the "
                                + "background)", host.get().name(), host.get().host().costPerHour(), best.host().name(),
                        s.margin()));
            }
        }
        return ReuseDecision.grant(grant, why);
    }

    /** A dedicated tier: a VM nobody was granted lately, else the cheapest resting one woken, else a new one. */
    private ReuseDecision dedicated(ReuseRequest request, Settings s, Optional<ReuseDecision> join) {
        String tier = request.tier().name();
        Instant takenSince = request.now().minus(s.idle());
        Optional<Option> free = request.vms().stream().filter(ReusableVm::grantable)
                .filter(v -> v.vm().lastUsedAt() == null || !v.vm().lastUsedAt().isAfter(takenSince))
                .map(v -> option(v, Activation.ACTIVE, request, s)).min(CHEAPEST);
        String why = "tier " + tier + " is dedicated";
        if (free.isPresent()) {
            return ReuseDecision.grant(free.get().vm().vm(), why + ": " + free.get().describe()
                    + ", granted to no request within " + s.idle().toSeconds() + " s");
        }
        Option next = cheapestNewServer(request, s, true).orElseThrow();
        if (next.how() == Activation.CREATED && join.isPresent() && join.get().subject() == null) {
            // one creation per offering at a time (the core's rule): this request takes the VM being created
            return ReuseDecision.then(Step.JOIN, null, why + ": every VM is taken; " + join.get().reason());
        }
        return ReuseDecision.then(step(next), subject(next), why + ": every ACTIVE VM is taken; cheapest: "
                + next.describe());
    }

    /**
     * The cheapest way to bring one more VM into service: wake a resting VM (none being woken already) or, when
     * {@code mayCreate}, create one on placement's host, chosen only if cheaper than the best wake by the margin.
     */
    private Optional<Option> cheapestNewServer(ReuseRequest request, Settings s, boolean mayCreate) {
        Optional<Option> wake = request.vms().stream().filter(v -> !v.waking())
                .filter(v -> v.vm().state() == VmState.SLEEPING || v.vm().state() == VmState.ARCHIVED)
                .map(v -> option(v, v.vm().state() == VmState.SLEEPING ? Activation.RESUMED : Activation.RESTORED,
                        request, s))
                .min(CHEAPEST);
        if (!mayCreate) {
            return wake;
        }
        Optional<HostStatus> host = request.newHost().choose();
        if (host.isEmpty()) {
            // no host could take a new VM now: wake what there is, else let placement say why it cannot create
            return wake.isPresent() ? wake : Optional.of(new Option(null, null, Activation.CREATED, Double.MAX_VALUE));
        }
        Option create = new Option(null, host.get(), Activation.CREATED, price(host.get().host().costPerHour(),
                request.expected(Activation.CREATED), s));
        return wake.isPresent() && !(create.cost() < wake.get().cost() * (1 - s.margin())) ? wake : Optional.of(create);
    }

    private static Option option(ReusableVm vm, Activation how, ReuseRequest request, Settings s) {
        return new Option(vm, vm.host(), how, price(vm.costPerHour(), request.expected(how), s));
    }

    /** Hours of the host over the horizon plus the client's wait. */
    static double price(double costPerHour, Duration wait, Settings s) {
        return costPerHour == Double.MAX_VALUE ? Double.MAX_VALUE
                : costPerHour * s.horizonHours() + s.delayCost() * wait.toNanos() / 1e9;
    }

    private static Step step(Option o) {
        return switch (o.how()) {
            case RESUMED -> Step.RESUME;
            case RESTORED -> Step.RESTORE;
            default -> Step.CREATE;
        };
    }

    private static VmRecord subject(Option o) {
        return o.how() == Activation.CREATED ? null : o.vm().vm();
    }

    private static boolean comingUp(VmState state) {
        return state == VmState.CREATING || state == VmState.STARTING || state == VmState.RESUMING
                || state == VmState.RESTORING;
    }
}
