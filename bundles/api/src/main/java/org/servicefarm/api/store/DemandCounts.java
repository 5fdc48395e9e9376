package org.servicefarm.api.store;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;
import org.servicefarm.api.Offering;

/**
 * How often each combination is asked for, farm-wide: every appliance sharing the store adds what it was asked per
 * minute, and reads what the others were asked, so that popularity (pre-builds) and the keep-alive policy count every
 * request of the farm, not only those that reached one appliance. Provided by a store shared by several appliances.
 */
@ProviderType
public interface DemandCounts {

    /** Counts one request of {@code offering} on this appliance in minute {@code minute} (minutes since the epoch). */
    void add(Offering offering, long minute);

    /**
     * What the other appliances were asked, per offering and minute, from minute {@code fromMinute} on, as last read
     * (a few seconds old at most).
     */
    List<Asked> others(long fromMinute);

    /** How often the other appliances were asked for {@code offering} from minute {@code fromMinute} on, as last read. */
    long othersAsked(Offering offering, long fromMinute);

    /**
     * What every appliance sharing the store was asked, this one's requests included (those not yet written too), per
     * offering and minute from minute {@code fromMinute} on, oldest minute first, read now: what a keep-alive policy
     * that comes into force (after a restart, on a swap) learns from. As far back as the store keeps counts (a day
     * for the JDBC store). {@link #others} reads the same counts afterwards.
     */
    List<Asked> history(long fromMinute);

    /** Requests of one offering in one minute. */
    record Asked(Offering offering, long minute, long requests) {
    }
}
