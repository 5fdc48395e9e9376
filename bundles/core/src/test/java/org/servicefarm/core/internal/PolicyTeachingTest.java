package org.servicefarm.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.api.store.DemandCounts;
import org.servicefarm.api.testing.ListedLeadership;

/**
 * A keep-alive policy coming into force is first taught what the farm was asked (the store's requests per offering and
 * minute), so that a restart, a swap or a new leader does not start it from nothing; the requests that come while it
 * is taught reach it afterwards, none twice.
 */
class PolicyTeachingTest {

    private final Farm farm = new Farm(Map.of());
    private Lifecycle lifecycle;
    private Offering wiki;
    private long minute;

    @BeforeEach
    void start() {
        farm.clock.advance(Duration.ofHours(30).plusSeconds(20)); // 20 s into a minute
        lifecycle = farm.lifecycle(Map.of("inDemand.requestsPerMinute", 0.0));
        wiki = assertInstanceOf(Outcome.Granted.class, farm.manager.request(ServiceRequest.of("wiki")
                .withDeadline(Duration.ofSeconds(60)))).offering();
        minute = farm.clock.millis() / 60_000;
    }

    @AfterEach
    void stop() {
        farm.close();
    }

    /** A policy that records the requests it is told of, in order. */
    static class Recording implements KeepAlivePolicy {
        final List<Instant> told = new CopyOnWriteArrayList<>();

        @Override
        public void requested(Offering offering, Instant at) {
            told.add(at);
        }

        @Override
        public Optional<Due> due(VmRecord vm, Instant now, double offeringRequestsPerMinute) {
            return Optional.empty();
        }
    }

    /** The store's counts: {@code history} answers from the minute asked for; {@code others} are the others' part. */
    static final class Counts implements DemandCounts {
        final List<Long> askedFrom = new ArrayList<>();
        LongFunction<List<Asked>> history = from -> List.of();
        List<Asked> others = List.of();

        @Override
        public void add(Offering offering, long minute) {
        }

        @Override
        public List<Asked> others(long fromMinute) {
            return others.stream().filter(a -> a.minute() >= fromMinute).toList();
        }

        @Override
        public long othersAsked(Offering offering, long fromMinute) {
            return 0;
        }

        @Override
        public List<Asked> history(long fromMinute) {
            askedFrom.add(fromMinute);
            return history.apply(fromMinute);
        }
    }

    private Instant at(long minuteOfEpoch, long seconds) {
        return Instant.ofEpochMilli(minuteOfEpoch * 60_000 + seconds * 1000);
    }

    @Test
    void aPolicyComingIntoForceIsToldTheFarmsRequestsOfTheLastDaySpreadOverTheirMinutes() {
        Counts counts = new Counts();
        counts.history = from -> List.of(new DemandCounts.Asked(wiki, minute - 120, 1),
                new DemandCounts.Asked(wiki, minute - 60, 1), new DemandCounts.Asked(wiki, minute - 1, 2),
                new DemandCounts.Asked(wiki, minute, 1), new DemandCounts.Asked(wiki, minute + 1, 1));
        lifecycle.demand = counts;
        Recording pupil = new Recording();
        lifecycle.bindPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording"));

        assertEquals(List.of(minute - 24 * 60 + 1), counts.askedFrom, "the last 24 hours, this minute included");
        assertEquals(List.of(at(minute - 120, 30), at(minute - 60, 30), at(minute - 1, 15), at(minute - 1, 45),
                        at(minute, 10)), pupil.told,
                "each minute's requests spread over it; this one's over its 20 s so far; the next one's not at all");
        assertEquals(Optional.of("recording"), lifecycle.policy(), "in force once taught");

        farm.clock.advance(Duration.ofSeconds(5));
        lifecycle.requested(wiki, farm.clock.instant());
        assertEquals(at(minute, 25), pupil.told.get(5), "then told of each request as before");
    }

    @Test
    void requestsThatComeWhileItIsTaughtReachItAfterwardsThoseInTheHistoryNotTwice() {
        Recording before = new Recording();
        lifecycle.bindPolicy(before, Map.of(KeepAlivePolicy.NAME, "before"));
        Counts counts = new Counts();
        Instant cut = farm.clock.instant();
        counts.history = from -> {
            lifecycle.requested(wiki, cut); // counted before the history was read: in it
            farm.clock.advance(Duration.ofSeconds(1));
            lifecycle.requested(wiki, farm.clock.instant()); // after: held back
            return List.of(new DemandCounts.Asked(wiki, minute, 1));
        };
        lifecycle.demand = counts;
        Recording pupil = new Recording();
        lifecycle.bindPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording"));

        assertEquals(List.of(at(minute, 10), at(minute, 21)), pupil.told);
        assertEquals(List.of(cut, at(minute, 21)), before.told, "the policy in force meanwhile is told as well");
        assertEquals(Optional.of("recording"), lifecycle.policy());
    }

    @Test
    void aPolicyTaughtAgainIsToldOnlyTheMinutesAfterTheLastRequestItKnowsOfEachOffering() {
        Offering blog = assertInstanceOf(Outcome.Granted.class, farm.manager.request(ServiceRequest.of("blog")
                .withDeadline(Duration.ofSeconds(60)))).offering();
        Counts counts = new Counts();
        counts.history = from -> List.of(new DemandCounts.Asked(wiki, minute - 3, 1),
                new DemandCounts.Asked(blog, minute - 3, 1), new DemandCounts.Asked(wiki, minute - 1, 1));
        lifecycle.demand = counts;
        // a policy that knows wiki up to its request in minute - 3 (as the outlook says), and nothing of blog
        Recording pupil = new Recording() {
            @Override
            public List<org.servicefarm.api.keepalive.KeepAliveOutlook> outlook(Instant now) {
                return List.of(new org.servicefarm.api.keepalive.KeepAliveOutlook(wiki, at(minute - 3, 40), 4, null,
                        null, "known"));
            }
        };
        lifecycle.bindPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording"));
        assertEquals(List.of(at(minute - 3, 30), at(minute - 1, 30)), pupil.told,
                "blog's minute, and wiki's after the one it knows");
    }

    @Test
    void aPolicyConfiguredAnewIsTaughtAgainWhatItForgotAndNothingItKnows() {
        Counts counts = new Counts();
        counts.history = from -> List.of(new DemandCounts.Asked(wiki, minute - 3, 1),
                new DemandCounts.Asked(wiki, minute - 1, 1));
        lifecycle.demand = counts;
        // a policy that knows what it was told, as a histogram does, and forgets it all when told to
        List<Instant> known = new CopyOnWriteArrayList<>();
        Recording pupil = new Recording() {
            @Override
            public void requested(Offering offering, Instant at) {
                super.requested(offering, at);
                known.add(at);
            }

            @Override
            public List<org.servicefarm.api.keepalive.KeepAliveOutlook> outlook(Instant now) {
                return known.isEmpty() ? List.of() : List.of(new org.servicefarm.api.keepalive.KeepAliveOutlook(
                        wiki, known.get(known.size() - 1), known.size() - 1, null, null, "known"));
            }
        };
        lifecycle.bindPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording"));
        assertEquals(2, pupil.told.size());

        lifecycle.updatedPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording", "sleep.gap.s", 60));
        assertEquals(2, pupil.told.size(), "it forgot nothing: nothing told twice");
        assertEquals(Optional.of("recording"), lifecycle.policy(), "in force throughout");

        known.clear(); // another range: its histograms start again
        lifecycle.updatedPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording", "range.minutes", 60));
        assertEquals(List.of(at(minute - 3, 30), at(minute - 1, 30)), known, "taught again what it forgot");
        assertEquals(Optional.of("recording"), lifecycle.policy());

        Recording other = new Recording();
        lifecycle.updatedPolicy(other, Map.of(KeepAlivePolicy.NAME, "other"));
        assertEquals(List.of(), other.told, "a policy not in force is not taught on an update");
    }

    @Test
    void withoutHistoryOrWhenItCannotBeReadThePolicyLearnsFromNowOn() {
        Counts counts = new Counts();
        counts.history = from -> {
            throw new IllegalStateException("cannot read the farm's request counts: connection refused");
        };
        lifecycle.demand = counts;
        Recording pupil = new Recording();
        lifecycle.bindPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording"));
        assertEquals(Optional.of("recording"), lifecycle.policy(), "in force all the same");
        assertEquals(List.of(), pupil.told);

        counts.history = from -> List.of(new DemandCounts.Asked(wiki, minute, 3));
        lifecycle.configure(Farm.convert(Map.of("history.h", 0, "sweep.interval.s", 86_400L,
                "reconcile.period.s", 0L), Lifecycle.Config.class), null);
        Recording untaught = new Recording();
        lifecycle.bindPolicy(untaught, Map.of(KeepAlivePolicy.NAME, "untaught"));
        assertEquals(List.of(), untaught.told, "history.h = 0: not taught");
        assertEquals(List.of(), counts.askedFrom.subList(1, counts.askedFrom.size()), "nor read");

        lifecycle.configure(Farm.convert(Map.of("history.h", 24, "sweep.interval.s", 86_400L,
                "reconcile.period.s", 0L), Lifecycle.Config.class), null);
        Recording timers = new Recording() {
            @Override
            public boolean learnsFromRequests() {
                return false;
            }
        };
        lifecycle.bindPolicy(timers, Map.of(KeepAlivePolicy.NAME, "timers"));
        assertEquals(List.of(), timers.told, "a policy that learns nothing from requests is not taught");
        assertEquals(1, counts.askedFrom.size(), "and the counts are not read for it");
        assertEquals(Optional.of("timers"), lifecycle.policy());
    }

    @Test
    void theOthersRequestsTaughtAreNotToldAgainAndAnApplianceNotLeadingIsToldThemToo() {
        Counts counts = new Counts();
        counts.others = List.of(new DemandCounts.Asked(wiki, minute - 1, 2));
        counts.history = from -> counts.others;
        lifecycle.demand = counts;
        Recording pupil = new Recording();
        lifecycle.bindPolicy(pupil, Map.of(KeepAlivePolicy.NAME, "recording"));
        assertEquals(2, pupil.told.size(), "taught");
        lifecycle.sweep();
        assertEquals(2, pupil.told.size(), "not told again by the sweep");

        lifecycle.leadership = new ListedLeadership("this", "another");
        counts.others = List.of(new DemandCounts.Asked(wiki, minute - 1, 2), new DemandCounts.Asked(wiki, minute, 3));
        lifecycle.sweepQuietly();
        assertEquals(5, pupil.told.size(), "another appliance leads: this one's policy is told all the same");
    }
}
