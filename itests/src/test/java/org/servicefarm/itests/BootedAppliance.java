package org.servicefarm.itests;

import java.time.Duration;

import javax.inject.Inject;

import org.apache.karaf.features.BootFinished;
import org.junit.Before;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.servicefarm.api.ServiceManager;

/**
 * What the integration tests on the assembled appliance in Pax Exam's container share: the shipped boot, its services
 * once Karaf finished booting, and a REST client once the API answers. A test class adds what else it needs.
 */
abstract class BootedAppliance {

    static final Duration READY = Duration.ofSeconds(90);

    @Inject
    BundleContext bundleContext;

    @Inject
    @Filter(timeout = 120_000)
    BootFinished bootFinished;

    @Inject
    @Filter(timeout = 60_000)
    ServiceManager serviceManager;

    @Inject
    ConfigurationAdmin configurationAdmin;

    FarmClient client;

    @Configuration
    public Option[] config() {
        return ApplianceOptions.boot();
    }

    @Before
    public void connect() {
        client = new FarmClient(Integer.parseInt(System.getProperty(ApplianceOptions.HTTP_PORT_PROPERTY)));
        client.awaitReady(READY);
        client.awaitHosts(READY, "alpha", "beta", "gamma");
    }
}
