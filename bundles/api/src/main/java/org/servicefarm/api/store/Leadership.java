package org.servicefarm.api.store;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Which of the appliances sharing one store does the farm's periodic work (lifecycle sweeps, reconciles): one at a
 * time, so two never move the same idle VM or repair the same guest. Provided by the store; without one (the store in
 * memory serves one appliance) an appliance always leads.
 */
@ProviderType
public interface Leadership {

    /** True while this appliance leads: its periodic work runs. */
    boolean leads();

    /** This appliance's name among those sharing the store. */
    String appliance();

    /** The leading appliance's name as the store last knew it, or {@code null} while none leads. */
    String leader();
}
