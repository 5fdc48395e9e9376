package org.servicefarm.core.internal;

import java.util.Locale;
import java.util.Optional;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.StagingSpace;
import org.servicefarm.api.placement.FilterName;
import org.servicefarm.api.placement.HostFilter;
import org.servicefarm.api.placement.PlacementRequest;

/**
 * Hard constraint: the place the host stages images in is not nearly full. A host whose staging space was
 * {@code fullPercent} (95) or more used when last read takes no new VM: the image it would stage, and the disk the
 * guest writes, would fail there or fill it (a kubelet's disk pressure, which keeps new pods off the node). The space
 * is read at every sweep of staged content ({@link StagedSweep}, which first relieves a host at
 * {@code staged.spaceHighPercent}), and again as soon as a staging on the host fails; a host whose driver does not
 * say its space is admitted. VMs already on the host stay and wake there.
 */
@Component(service = HostFilter.class, configurationPid = SpaceFilter.PID,
        property = HostFilter.COST + ":Integer=12")
@Designate(ocd = SpaceFilter.Config.class)
@FilterName("space")
public class SpaceFilter implements HostFilter {

    static final String PID = "org.servicefarm.filter.space";

    @ObjectClassDefinition(name = "ServiceFarm staging-space filter",
            description = "Skips hosts whose staging space (storage pool, image directory, storage repository) is "
                    + "nearly full.")
    public @interface Config {
        @AttributeDefinition(name = "full at (%)", description = "The used share of a host's staging space, as last "
                + "read, from which placement skips the host: 1 to 100.")
        int fullPercent() default 95;
    }

    private final ConfiguredSettings<Config, Integer> fullPercent = new ConfiguredSettings<>(PID, Config.class,
            c -> {
                if (c.fullPercent() < 1 || c.fullPercent() > 100) {
                    throw new IllegalArgumentException("fullPercent must be 1 to 100: " + c.fullPercent());
                }
                return c.fullPercent();
            });

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        fullPercent.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        fullPercent.close();
    }

    @Override
    public Optional<String> reject(HostStatus host, PlacementRequest request) {
        StagingSpace space = host.staging();
        int full = fullPercent.inForce();
        if (space == null || space.usedPercent() < full) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "its staging space is %.0f%% used (%d of %d bytes available; "
                + "fullPercent %d)", Math.floor(space.usedPercent()), space.availableBytes(), space.capacityBytes(),
                full));
    }
}
