package org.servicefarm.core.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.ReferenceDTO;
import org.servicefarm.api.config.RefusedConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads, every {@link #CHECK_SECONDS}, the targets the appliance's components are configured with (the Service
 * Component Runtime's view of every {@code org.servicefarm.*} bundle) against the services installed, and registers a
 * {@link RefusedConfiguration} for each configuration whose targets {@link PluginTargets} finds matching nothing, so
 * that the status answers ({@code farm:status}, {@code GET /api/v1/status}, the dashboard) list it; withdrawn once
 * they match. One log line each way.
 */
@Component(service = {}, immediate = true)
public class PluginTargetWatch {

    private static final Logger LOG = LoggerFactory.getLogger(PluginTargetWatch.class);
    static final long CHECK_SECONDS = 5;

    @Reference
    ServiceComponentRuntime runtime;

    private BundleContext context;
    private ScheduledExecutorService scheduler;
    /** Touched on the scheduler's thread only, then by the deactivation once that thread ended. */
    private final PluginTargets targets = new PluginTargets();
    private final Map<String, Registered> registered = new HashMap<>();

    private record Registered(RefusedConfiguration refusal, ServiceRegistration<RefusedConfiguration> registration) {
    }

    @Activate
    void activate(BundleContext bundleContext) {
        context = bundleContext;
        scheduler = Daemons.scheduler("servicefarm-plugin-targets");
        scheduler.scheduleWithFixedDelay(this::check, CHECK_SECONDS, CHECK_SECONDS, TimeUnit.SECONDS);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        scheduler.shutdownNow();
        scheduler.awaitTermination(5, TimeUnit.SECONDS);
        registered.values().forEach(r -> unregister(r.registration()));
        registered.clear();
    }

    private void check() {
        try {
            Map<PluginTargets.Wanted, String> unmatched = new LinkedHashMap<>();
            Map<String, List<Map<String, Object>>> installed = new HashMap<>(); // one look-up per interface
            for (PluginTargets.Wanted wanted : wanted()) {
                PluginTargets.unmatched(wanted, installed.computeIfAbsent(wanted.interfaceName(), this::installed))
                        .ifPresent(why -> unmatched.put(wanted, why));
            }
            apply(targets.due(unmatched, System.nanoTime()));
        } catch (RuntimeException e) { // a bundle going away while read: the next check reads again
            LOG.debug("Checking the plug-in targets failed: {}", e.toString());
        }
    }

    /** Each reference of the appliance's components that its configuration gives a target ({@code <name>.target}). */
    private Set<PluginTargets.Wanted> wanted() {
        Set<PluginTargets.Wanted> wanted = new LinkedHashSet<>();
        for (Bundle bundle : context.getBundles()) {
            String name = bundle.getSymbolicName();
            if (name == null || !name.startsWith("org.servicefarm.") || bundle.getState() != Bundle.ACTIVE) {
                continue;
            }
            for (ComponentDescriptionDTO description : runtime.getComponentDescriptionDTOs(bundle)) {
                if (description.references == null || description.configurationPid == null
                        || description.configurationPid.length == 0) {
                    continue;
                }
                for (ComponentConfigurationDTO configuration : runtime.getComponentConfigurationDTOs(description)) {
                    for (ReferenceDTO reference : description.references) {
                        Object target = configuration.properties.get(reference.name + ".target");
                        if (!(target instanceof String filter) || filter.isBlank()) {
                            continue;
                        }
                        Object without = description.properties.get(RefusedConfiguration.WITHOUT + reference.name);
                        wanted.add(new PluginTargets.Wanted(description.configurationPid[0], reference.name,
                                reference.interfaceName, filter, reference.cardinality.startsWith("0"),
                                without == null ? null : without.toString()));
                    }
                }
            }
        }
        return wanted;
    }

    /** The properties of every service registered under {@code interfaceName}. */
    private List<Map<String, Object>> installed(String interfaceName) {
        ServiceReference<?>[] references;
        try {
            references = context.getAllServiceReferences(interfaceName, null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e); // no filter given
        }
        List<Map<String, Object>> installed = new ArrayList<>();
        for (ServiceReference<?> reference : references == null ? new ServiceReference<?>[0] : references) {
            Map<String, Object> properties = new HashMap<>();
            for (String key : reference.getPropertyKeys()) {
                properties.put(key, reference.getProperty(key));
            }
            installed.add(properties);
        }
        return installed;
    }

    private void apply(Map<String, PluginTargets.Refusal> due) {
        for (String pid : List.copyOf(registered.keySet())) {
            PluginTargets.Refusal now = due.get(pid);
            Registered before = registered.get(pid);
            if (now == null) {
                LOG.info("The plug-in targets of the configuration {} match again; its refusal of {} is withdrawn",
                        pid, before.refusal().since().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
                unregister(registered.remove(pid).registration());
            } else if (!now.reason().equals(before.refusal().reason())) {
                unregister(registered.remove(pid).registration());
            }
        }
        due.forEach((pid, refusal) -> {
            if (registered.containsKey(pid)) {
                return;
            }
            LOG.warn("The configuration {} is refused, {}: {}", pid, refusal.inForce(), refusal.reason());
            RefusedConfiguration refused = new RefusedConfiguration(pid, refusal.reason(), refusal.inForce(),
                    Instant.now());
            try {
                registered.put(pid, new Registered(refused, context.registerService(RefusedConfiguration.class,
                        refused, FrameworkUtil.asDictionary(Map.of(RefusedConfiguration.PID, pid)))));
            } catch (IllegalStateException stopping) {
                // the bundle is stopping: nothing to show it to
            }
        });
    }

    private static void unregister(ServiceRegistration<RefusedConfiguration> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException gone) {
            // unregistered with its bundle already
        }
    }
}
