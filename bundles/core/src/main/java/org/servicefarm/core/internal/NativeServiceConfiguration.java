package org.servicefarm.core.internal;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.servicefarm.api.Environment;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.Names;
import org.servicefarm.api.Offering;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One service a host runs itself: a factory configuration {@code etc/org.servicefarm.native-<name>.cfg}. Each
 * configuration becomes one instance of this component, which {@link NativeServices} picks up. A configuration that
 * breaks the rules of {@link NativeService} does not activate: the log says which key is wrong, as for a host.
 */
@Component(service = NativeServiceConfiguration.class, configurationPid = NativeServiceConfiguration.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = NativeServiceConfiguration.Config.class, factory = true)
public class NativeServiceConfiguration {

    static final String FACTORY_PID = "org.servicefarm.native";
    private static final Logger LOG = LoggerFactory.getLogger(NativeServiceConfiguration.class);

    @ObjectClassDefinition(name = "ServiceFarm native service",
            description = "A service a host runs itself, without a VM: requests for its offering are granted its "
                    + "endpoint while it answers there. Every field of the offering is named: it runs what it runs.")
    public @interface Config {
        @AttributeDefinition(description = "The host that runs it: letters, digits, '.', '_' and '-'.")
        String host();

        @AttributeDefinition(description = "Where clients reach it: the host's DNS name or IP address.")
        String address();

        @AttributeDefinition(description = "The TCP port the service listens on.")
        int port();

        @AttributeDefinition(name = "security zone", description = "The security zone the host stands in.")
        String securityZone() default "standard";

        @AttributeDefinition(description = "The application, e.g. wiki.")
        String service();

        @AttributeDefinition(description = "The application's version, e.g. 2.1.")
        String version();

        @AttributeDefinition(description = "The operating system, e.g. debian-12.")
        String os();

        @AttributeDefinition(description = "The server software, e.g. nginx-1.22.")
        String server();

        @AttributeDefinition(description = "The language runtime, e.g. php-8.2.")
        String runtime();

        @AttributeDefinition(description = "The patches applied, comma-separated; none when left out.")
        String[] patches() default {};

        @AttributeDefinition(name = "security level", description = "The security level it is offered at.")
        String securityLevel() default "standard";
    }

    private NativeService service;

    @Activate
    void activate(Config config, Map<String, Object> properties) {
        try {
            this.service = toService(nameOf(String.valueOf(properties.get("service.pid"))), config);
        } catch (RuntimeException e) { // the rules' own, or a value that is not of its key's type ("port = eighty")
            LOG.error("Native service configuration {} is refused and not served: {}{}",
                    Names.excerpt(String.valueOf(properties.get("service.pid")), 200),
                    e instanceof InvalidRequestException refused && refused.field() != null
                            ? refused.field() + ": " : "", e.getMessage());
            throw e;
        }
    }

    /**
     * A native service's name: its configuration's alias ({@code org.servicefarm.native~s140-wiki}, from the file
     * {@code org.servicefarm.native-s140-wiki.cfg} or the API), or what follows the factory PID in an older one's PID.
     */
    static String nameOf(String pid) {
        int alias = pid.indexOf('~');
        if (alias >= 0) {
            return pid.substring(alias + 1);
        }
        return pid.startsWith(FACTORY_PID + ".") ? pid.substring(FACTORY_PID.length() + 1) : pid;
    }

    /** The configuration of {@code service}, as {@link #toService} reads it back. */
    static Dictionary<String, Object> toProperties(NativeService service) {
        Hashtable<String, Object> p = new Hashtable<>();
        Offering offering = service.offering();
        p.put("host", service.host());
        p.put("address", service.endpoint().host());
        p.put("port", service.endpoint().port());
        p.put("securityZone", service.securityZone());
        p.put("service", offering.service());
        p.put("version", offering.version());
        p.put("os", offering.environment().os());
        p.put("server", offering.environment().server());
        p.put("runtime", offering.environment().runtime());
        p.put("patches", offering.environment().patches().toArray(String[]::new));
        p.put("securityLevel", offering.securityLevel());
        return p;
    }

    /** @throws InvalidRequestException naming the configuration key ({@code os}, not {@code environment.os}) */
    static NativeService toService(String name, Config config) {
        try {
            return NativeService.of(name, config.host(), config.address(), config.port(), config.securityZone(),
                    Offering.of(config.service(), config.version(), new Environment(config.os(), config.server(),
                            config.runtime(), Lists.split(config.patches())), config.securityLevel()));
        } catch (InvalidRequestException e) {
            String field = e.field();
            throw field != null && field.startsWith("environment.")
                    ? new InvalidRequestException(field.substring("environment.".length()), e.getMessage()) : e;
        }
    }

    NativeService service() {
        return service;
    }
}
