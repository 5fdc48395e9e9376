package org.servicefarm.api.testing;

import org.servicefarm.api.store.Leadership;

/** Leadership for tests: this appliance's name, the leader's, and whether this one leads, as a test sets them. */
public class ListedLeadership implements Leadership {

    private final String appliance;
    public volatile String leader;
    public volatile boolean leads;

    public ListedLeadership(String appliance, String leader) {
        this.appliance = appliance;
        this.leader = leader;
        this.leads = appliance.equals(leader);
    }

    @Override
    public boolean leads() {
        return leads;
    }

    @Override
    public String appliance() {
        return appliance;
    }

    @Override
    public String leader() {
        return leader;
    }
}
