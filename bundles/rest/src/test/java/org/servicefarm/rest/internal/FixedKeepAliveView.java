package org.servicefarm.rest.internal;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.servicefarm.api.keepalive.KeepAliveOutlook;
import org.servicefarm.api.keepalive.KeepAliveView;

/** The adaptive policy in force, with one combination planned and one not. */
final class FixedKeepAliveView implements KeepAliveView {

    static final Instant LAST = Instant.parse("2026-11-26T10:00:00Z");

    @Override
    public Optional<String> policy() {
        return Optional.of("adaptive");
    }

    @Override
    public List<KeepAliveOutlook> outlook() {
        return List.of(
                new KeepAliveOutlook(FixedServiceManager.WIKI, LAST, 12, LAST.plusSeconds(450), LAST.plusSeconds(510),
                        "learned from its idle times: in memory from 7 min 30 s to 8 min 30 s after a request"),
                new KeepAliveOutlook(FixedServiceManager.BLOG, LAST, 3, null, null,
                        "no idle time likely enough to end in a request to be worth memory"));
    }
}
