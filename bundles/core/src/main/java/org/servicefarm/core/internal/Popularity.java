package org.servicefarm.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Offering;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.store.DemandCounts;
import org.servicefarm.api.image.Demand;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.image.ImageStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The popularity tracker, the one owner of request frequencies: the manager tells it every request it
 * resolves to an offering ({@link #record}); it counts them per offering over a sliding window ({@value
 * #BUCKETS} buckets of window/{@value #BUCKETS} each), and when an offering's count reaches the threshold
 * it asks the image store, once, to build that offering's image in the background, and then {@link Checkpoints} to
 * checkpoint it on the hosts that restore checkpoints: not again while that
 * image is built or being built (a count that falls below the threshold and reaches it again asks again
 * only if the image is gone or its build failed).
 */
@Component(service = Popularity.class, configurationPid = Popularity.PID)
@Designate(ocd = Popularity.Config.class)
public class Popularity {

    static final String PID = "org.servicefarm.popularity";
    static final int BUCKETS = 60;
    /** Offerings counted at most; past it, offerings with nothing in the window are forgotten. */
    static final int MAX_OFFERINGS = 10_000;
    private static final Logger LOG = LoggerFactory.getLogger(Popularity.class);

    @ObjectClassDefinition(name = "ServiceFarm popularity",
            description = "Request frequency per offering over a sliding window; popular offerings' images are built "
                    + "ahead of demand.")
    public @interface Config {
        @AttributeDefinition(name = "window (s)", description = "The length of the sliding window over which "
                + "requests per offering are counted, in seconds.")
        long window_s() default 600;

        @AttributeDefinition(description = "The number of requests within the window at which an offering's image "
                + "is built in the background, ahead of demand; 0 builds nothing ahead.")
        long threshold() default 10;
    }

    /** Requests of one offering in the window's buckets, and the image asked for when it last reached the threshold. */
    private static final class Counter {
        final long[] counts = new long[BUCKETS];
        final long[] slots = new long[BUCKETS];
        String asked;

        long total(long slot) {
            long total = 0;
            for (int i = 0; i < BUCKETS; i++) {
                if (slots[i] > slot - BUCKETS && slots[i] <= slot) {
                    total += counts[i];
                }
            }
            return total;
        }

        void add(long slot) {
            int i = (int) Math.floorMod(slot, (long) BUCKETS);
            if (slots[i] != slot) {
                slots[i] = slot;
                counts[i] = 0;
            }
            counts[i]++;
        }
    }

    private record Window(Duration length, long threshold) {
        long bucketMillis() {
            return Math.max(1, length.toMillis() / BUCKETS);
        }

        /** The whole minutes the window covers, at least one. */
        long minutes() {
            return Math.max(1, length.toMinutes());
        }
    }

    /** What the other appliances sharing the store are asked, when they share one. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile DemandCounts demand;

    /** How often the other appliances sharing the store were asked for the offering within the window (by minute). */
    private long othersAsked(Offering offering, Window w) {
        DemandCounts farm = demand;
        return farm == null ? 0 : farm.othersAsked(offering, clock.millis() / 60_000 - (w.minutes() - 1));
    }

    @Reference(policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile ImageStore imageStore;
    @Reference
    GuestPorts ports;
    @Reference
    Checkpoints checkpoints;

    Clock clock = Clock.systemUTC();
    private final ConfiguredSettings<Config, Window> window = new ConfiguredSettings<>(PID, Config.class,
            Popularity::window);
    private final Map<Offering, Counter> counters = new ConcurrentHashMap<>();

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        Window old = window.inForce();
        Window now = window.accept(context, config);
        if (old != null && !old.length().equals(now.length())) {
            counters.clear(); // buckets of another width: start counting again
        }
    }

    @Deactivate
    void deactivate() {
        window.close();
    }

    private static Window window(Config config) {
        if (config.window_s() < 1 || config.threshold() < 0) {
            throw new IllegalArgumentException("window.s must be positive and threshold not negative");
        }
        return new Window(Duration.ofSeconds(config.window_s()), config.threshold());
    }

    /** One request resolved to {@code offering}; may start a build of its image in the background. */
    void record(Offering offering) {
        Window w = window.inForce();
        long slot = clock.millis() / w.bucketMillis();
        Counter counter = counters.get(offering);
        if (counter == null) {
            if (counters.size() >= MAX_OFFERINGS) {
                forgetIdle(slot);
            }
            counter = counters.computeIfAbsent(offering, k -> new Counter());
        }
        DemandCounts farm = demand;
        if (farm != null) {
            farm.add(offering, clock.millis() / 60_000);
        }
        long othersAsked = othersAsked(offering, w);
        boolean reached;
        synchronized (counter) {
            long before = counter.total(slot) + othersAsked; // every appliance's requests, when they share a store
            counter.add(slot);
            reached = w.threshold() > 0 && before < w.threshold() && before + 1 >= w.threshold()
                    && !builtOrBuilding(counter.asked);
            if (reached) {
                counter.asked = prebuild(offering, before + 1, w);
            }
        }
    }

    private boolean builtOrBuilding(String imageId) {
        ImageStore store = imageStore;
        if (imageId == null || store == null) {
            return false;
        }
        return store.status(imageId).map(s -> s.state() != ImageStatus.State.FAILED).orElse(false);
    }

    private String prebuild(Offering offering, long requests, Window w) {
        try {
            ImageStatus status = imageStore.build(offering, ports.of(offering));
            LOG.info("{} was asked for {} times in {} s: its image {} is {}, and checkpointed next on the hosts that "
                    + "restore checkpoints", offering.key(), requests, w.length().toSeconds(), status.id(),
                    status.state() == ImageStatus.State.READY ? "at hand" : "being built ahead of demand");
            checkpoints.prepare(offering); // after the build, in the background
            return status.id();
        } catch (RuntimeException e) {
            LOG.warn("Building the image of popular {} ahead of demand failed: {}", offering.key(), e.getMessage());
            return null;
        }
    }

    private void forgetIdle(long slot) {
        counters.entrySet().removeIf(entry -> {
            synchronized (entry.getValue()) {
                return entry.getValue().total(slot) == 0;
            }
        });
    }

    /** How often {@code offering} is asked for, per minute, averaged over the window. */
    double requestsPerMinute(Offering offering) {
        Window w = window.inForce();
        Counter counter = counters.get(offering);
        if (w == null || counter == null) {
            return 0;
        }
        long total;
        synchronized (counter) {
            total = counter.total(clock.millis() / w.bucketMillis());
        }
        total += othersAsked(offering, w);
        return total * 60_000.0 / w.length().toMillis();
    }

    /** Offerings asked for within the window, the most asked for first (then by key). */
    List<Demand> demand() {
        Window w = window.inForce();
        long slot = clock.millis() / w.bucketMillis();
        List<Demand> demand = new ArrayList<>();
        counters.forEach((offering, counter) -> {
            long total;
            String asked;
            synchronized (counter) {
                total = counter.total(slot);
                asked = counter.asked;
            }
            total += othersAsked(offering, w);
            if (total > 0) {
                demand.add(new Demand(offering, total, w.length(), w.threshold(), asked));
            }
        });
        demand.sort(Comparator.comparingLong(Demand::requests).reversed()
                .thenComparing(d -> d.offering().key()));
        return demand;
    }
}
