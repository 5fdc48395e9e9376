package org.servicefarm.itests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

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
    /** A warning or an error in Karaf's log format ({@code time | LEVEL | thread | ...}). */
    private static final Pattern PROBLEM = Pattern.compile("\\| (WARN|ERROR) ");

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
        try {
            client.awaitReady(READY);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the appliance's log said:\n" + logProblems(), e);
        }
        client.awaitHosts(READY, "alpha", "beta", "gamma");
    }

    /** The installed bundle of that symbolic name. */
    org.osgi.framework.Bundle bundle(String symbolicName) {
        for (org.osgi.framework.Bundle bundle : bundleContext.getBundles()) {
            if (symbolicName.equals(bundle.getSymbolicName())) {
                return bundle;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }

    /** The appliance's log (this runs inside it). */
    static Path log() {
        return Path.of(System.getProperty("karaf.data", "data"), "log", "karaf.log");
    }

    /** The last warnings and errors of the appliance's log, for a failed wait to say why. */
    private static String logProblems() {
        try (Stream<String> lines = Files.lines(log())) {
            List<String> problems = lines.filter(PROBLEM.asPredicate()).toList();
            return String.join("\n", problems.subList(Math.max(0, problems.size() - 20), problems.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(" + log() + " unreadable: " + e + ")";
        }
    }

    /** The warnings and errors the appliance logged after the log had {@code size} bytes ({@code Files.size(log())}). */
    static List<String> logProblemsAfter(long size) throws IOException {
        byte[] all = Files.readAllBytes(log());
        String added = new String(all, (int) Math.min(size, all.length), (int) Math.max(0, all.length - size),
                java.nio.charset.StandardCharsets.UTF_8);
        return added.lines().filter(PROBLEM.asPredicate()).toList();
    }
}
