package org.servicefarm.core.internal;

import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.servicefarm.api.Offering;
import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAlivePolicy;
import org.servicefarm.api.store.DemandCounts;

/**
 * Tells a keep-alive policy what the farm was asked before it came into force, from the store's requests per offering
 * and minute ({@link DemandCounts#history}): each minute's requests as requests spread evenly over it, oldest minute
 * first and all before the cut, so that the policy's idle times are those of the farm to within a minute. At most
 * {@code perMinute} of one offering's requests in one minute are told, as for the other appliances' requests told
 * live: more only add idle times of a few seconds, which a busy minute has plenty of anyway. A policy taught before
 * (the same instance comes into force again when the lifecycle is activated anew) is told only the minutes after the
 * last request it knows of each offering, so that no request counts twice.
 */
final class DemandHistory {

    /** What a policy was taught: how many requests of how many offerings over how many minutes. */
    record Taught(long requests, int offerings, long minutes) {
        static final Taught NOTHING = new Taught(0, 0, 0);
    }

    private DemandHistory() {
    }

    /**
     * Tells {@code pupil} the requests {@code history} holds, minute by minute, as if each came at its share of the
     * minute; the minute of {@code cut} is spread over its part before the cut only, and later minutes are left out
     * (another appliance's clock a little ahead). Of an offering the policy already knows (its outlook names the
     * offering's last request), only the minutes after that request's are told.
     */
    static Taught teach(KeepAlivePolicy pupil, List<DemandCounts.Asked> history, Instant cut, int perMinute) {
        Map<Offering, Long> knownUntilMinute = new HashMap<>();
        for (KeepAliveOutlook known : pupil.outlook(cut)) {
            if (known.lastRequest() != null) {
                knownUntilMinute.put(known.offering(), known.lastRequest().toEpochMilli() / 60_000);
            }
        }
        long cutMs = cut.toEpochMilli();
        long told = 0;
        Set<Offering> offerings = new HashSet<>();
        Set<Long> minutes = new HashSet<>();
        for (DemandCounts.Asked asked : history) {
            Long known = knownUntilMinute.get(asked.offering());
            if (known != null && asked.minute() <= known) {
                continue;
            }
            long start = asked.minute() * 60_000;
            long end = Math.min(start + 60_000, cutMs);
            long requests = Math.min(asked.requests(), perMinute);
            if (end <= start || requests <= 0) {
                continue;
            }
            for (long i = 0; i < requests; i++) {
                pupil.requested(asked.offering(), Instant.ofEpochMilli(start + (2 * i + 1) * (end - start)
                        / (2 * requests)));
            }
            told += requests;
            offerings.add(asked.offering());
            minutes.add(asked.minute());
        }
        return told == 0 ? Taught.NOTHING : new Taught(told, offerings.size(), minutes.size());
    }
}
