package org.servicefarm.core.internal;

import java.util.List;
import java.util.Map;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.servicefarm.api.Offering;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.driver.VmSpec;

/**
 * The services a VM of an offering runs and the guest ports they listen on, from the manager's
 * {@code servicePorts} (its configuration, {@code org.servicefarm.core}; described by the manager's metatype):
 * what the image is built for, ahead of demand as when a VM is created.
 */
@Component(service = GuestPorts.class, configurationPid = FarmServiceManager.PID)
public class GuestPorts {

    /** The one setting of the manager's configuration this reads. */
    @interface Config {
        String[] servicePorts() default {"*=80"};
    }

    /** The manager's own configuration: it refuses a typo here as the manager does, keeping the ports before it. */
    private final ConfiguredSettings<Config, Map<String, Integer>> ports = new ConfiguredSettings<>(
            FarmServiceManager.PID, Config.class, c -> Map.copyOf(Settings.ports(c.servicePorts())));

    @Activate
    @Modified
    void configure(Config config, ComponentContext context) {
        ports.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        ports.close();
    }

    /** The guest services of a VM of the offering, as its {@link VmSpec#services()} name them. */
    List<VmSpec.GuestService> of(Offering offering) {
        return Settings.guestServices(ports.inForce(), offering);
    }
}
