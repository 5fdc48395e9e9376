package org.servicefarm.rest.internal;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.frontend.DirectoryFrontEnd;
import org.servicefarm.api.frontend.FrontendName;

/** Announces the REST API as a directory front end, with the address clients use. */
@Component(service = DirectoryFrontEnd.class, configurationPid = RestConfig.PID)
@FrontendName("rest")
public class RestFrontEnd implements DirectoryFrontEnd {

    static final String HTTP_PORT_PROPERTY = "org.osgi.service.http.port";
    static final int DEFAULT_HTTP_PORT = 8181;

    /** A port that is not a number must not take the front end out of the list: the address before it stays. */
    private final ConfiguredSettings<RestConfig, String> address;

    @Activate
    public RestFrontEnd(RestConfig config, ComponentContext context) {
        this(config, context.getBundleContext().getProperty(HTTP_PORT_PROPERTY), context);
    }

    RestFrontEnd(RestConfig config, String httpPortProperty) {
        this(config, httpPortProperty, null);
    }

    private RestFrontEnd(RestConfig config, String httpPortProperty, ComponentContext context) {
        address = new ConfiguredSettings<>(RestConfig.PID, RestConfig.class, c -> address(c, httpPortProperty));
        address.accept(context, config);
    }

    @Deactivate
    void deactivate() {
        address.close();
    }

    @Override
    public String address() {
        return address.inForce();
    }

    static String address(RestConfig config, String httpPortProperty) {
        String configured = config.baseUrl().trim();
        if (!configured.isEmpty()) {
            return configured.endsWith("/") ? configured.substring(0, configured.length() - 1) : configured;
        }
        int port = config.httpPort();
        if (port <= 0) {
            port = DEFAULT_HTTP_PORT;
            if (httpPortProperty != null) {
                try {
                    port = Integer.parseInt(httpPortProperty.trim());
                } catch (NumberFormatException e) {
                    port = DEFAULT_HTTP_PORT;
                }
            }
        }
        return "http://localhost:" + port + "/api/v1";
    }
}
