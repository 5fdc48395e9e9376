package org.servicefarm.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.config.ConfiguredSettings;

/**
 * The service directory, configured by {@code etc/org.servicefarm.catalog.cfg}: components
 * plus {@code rule.<name>} compatibility rules. Resolutions are cached per request shape, since
 * warm requests repeat the same few shapes; a new configuration replaces catalog and cache.
 */
@Component(service = {DirectoryView.class, CatalogDirectory.class}, configurationPid = CatalogDirectory.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = CatalogDirectory.Config.class)
public class CatalogDirectory implements DirectoryView {

    static final String PID = "org.servicefarm.catalog";
    static final String RULE_PREFIX = "rule.";
    private static final int CACHE_LIMIT = 10_000;

    @ObjectClassDefinition(name = "ServiceFarm service directory",
            description = "The components the farm can combine and the rules that say which combinations are viable. "
                    + "Each rule is a property rule.<name> = <subject> requires|conflicts <alternatives>, for example "
                    + "rule.iis-on-windows = server:iis-10 requires os:windows-2022.")
    public @interface Config {
        @AttributeDefinition(description = "Applications as name@version, newest version of each first, "
                + "comma-separated.")
        String[] applications();

        @AttributeDefinition(name = "operating systems", description = "Operating systems, preferred first, "
                + "comma-separated.")
        String[] operatingSystems();

        @AttributeDefinition(description = "Server software, preferred first, comma-separated.")
        String[] servers();

        @AttributeDefinition(description = "Language runtimes, preferred first, comma-separated; 'none' for "
                + "applications that need no runtime.")
        String[] runtimes();

        @AttributeDefinition(description = "Patches that can be applied, comma-separated.", required = false)
        String[] patches() default {};

        @AttributeDefinition(name = "security levels", description = "Security levels from lowest to highest, "
                + "comma-separated.")
        String[] securityLevels() default {"low", "standard", "high"};

        @AttributeDefinition(name = "default security level", description = "The security level of a request "
                + "that names none.")
        String defaultSecurityLevel() default "standard";
    }

    private final ConfiguredSettings<Config, Catalog> catalog = new ConfiguredSettings<>(PID, Config.class,
            CatalogDirectory::catalog);
    private final Map<ServiceRequest, Resolution> resolutions = new ConcurrentHashMap<>();

    @Activate
    @Modified
    void configure(Config config, Map<String, Object> properties, ComponentContext context) {
        catalog.accept(context, config, properties);
        resolutions.clear();
    }

    @Deactivate
    void deactivate() {
        catalog.close();
    }

    /** @throws IllegalArgumentException for a rule or a list that does not parse */
    static Catalog catalog(Config config, Map<String, ?> properties) {
        Map<String, Object> sorted = new TreeMap<>(properties);
        List<Rule> rules = new ArrayList<>();
        sorted.forEach((key, value) -> {
            if (key.startsWith(RULE_PREFIX)) {
                rules.add(Rule.parse(key.substring(RULE_PREFIX.length()), String.valueOf(value)));
            }
        });
        return new Catalog(Lists.split(config.applications()), Lists.split(config.operatingSystems()),
                Lists.split(config.servers()), Lists.split(config.runtimes()), Lists.split(config.patches()),
                Lists.split(config.securityLevels()), config.defaultSecurityLevel(), rules);
    }

    @Override
    public Resolution resolve(ServiceRequest request) {
        // the request's own constructor checked its names; tier and deadline do not change viability: cache on the rest only
        ServiceRequest shape = new ServiceRequest(request.service(), request.version(), request.environment(),
                request.securityLevel(), null, null);
        Resolution cached = resolutions.get(shape);
        if (cached != null) {
            return cached;
        }
        Resolution resolution = catalog.inForce().resolve(shape);
        // only viable shapes are cached: hostile input must not fill the cache
        if (resolution instanceof Resolution.Viable && resolutions.size() < CACHE_LIMIT) {
            resolutions.put(shape, resolution);
        }
        return resolution;
    }

    @Override
    public List<Offering> offerings(int limit) {
        if (limit < 0) {
            throw new InvalidRequestException("limit", "limit must not be negative: " + limit);
        }
        return catalog.inForce().offerings(limit);
    }

    @Override
    public List<CatalogComponent> components() {
        return catalog.inForce().components();
    }

    @Override
    public List<String> rules() {
        return catalog.inForce().rules().stream().map(Rule::toString).toList();
    }

    @Override
    public List<String> securityLevels() {
        return catalog.inForce().securityLevels();
    }
}
