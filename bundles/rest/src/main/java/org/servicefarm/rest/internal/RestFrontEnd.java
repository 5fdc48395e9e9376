package org.servicefarm.rest.internal;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.frontend.DirectoryFrontEnd;
import org.servicefarm.api.frontend.FrontendName;

/** Announces the REST API as a directory front end, with the address clients use. */
@Component(service = DirectoryFrontEnd.class, configurationPid = RestConfig.PID)
@FrontendName("rest")
public class RestFrontEnd implements DirectoryFrontEnd {

    static final String HTTP_PORT_PROPERTY = "org.osgi.service.http.port";
    static final int DEFAULT_HTTP_PORT = 8181;

    private final String address;

    @Activate
    public RestFrontEnd(RestConfig config, BundleContext context) {
        this(config, context.getProperty(HTTP_PORT_PROPERTY));
    }

    RestFrontEnd(RestConfig config, String httpPortProperty) {
        this.address = address(config, httpPortProperty);
    }

    @Override
    public String address() {
        return address;
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
