package org.servicefarm.api.testing;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAliveView;

/** A keep-alive view for front ends' tests: the policy's name and the outlook are what a test sets. */
public class ListedKeepAlive implements KeepAliveView {

    /** The policy in force, {@code null} for none. */
    public volatile String policy;
    public final List<KeepAliveOutlook> outlook = new CopyOnWriteArrayList<>();

    public ListedKeepAlive(String policy, KeepAliveOutlook... outlook) {
        this.policy = policy;
        this.outlook.addAll(List.of(outlook));
    }

    @Override
    public Optional<String> policy() {
        return Optional.ofNullable(policy);
    }

    @Override
    public List<KeepAliveOutlook> outlook() {
        return List.copyOf(outlook);
    }
}
