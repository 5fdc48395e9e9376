package org.servicefarm.remote.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Where the manager appliance is and how to log in to its REST API ({@code etc/org.servicefarm.remote.cfg}). */
@ObjectClassDefinition(name = "ServiceFarm remote manager", description = "Directory mode: requests are forwarded "
        + "to a manager appliance's REST API.")
public @interface RemoteConfig {

    String PID = "org.servicefarm.remote";

    @AttributeDefinition(description = "The manager appliance's base URL, e.g. https://manager.example:8181 "
            + "(http only on a trusted network: the login travels in every request).")
    String url();

    @AttributeDefinition(description = "A user of the manager's realm with role operator (requests need it).")
    String user();

    /**
     * Named {@code .password} in the configuration: a property that starts with a dot stays private to the
     * component, where any other is copied onto the registered service for anyone who lists services to read.
     */
    @AttributeDefinition(name = ".password", description = "That user's password; never logged, never a service "
            + "property.", type = AttributeType.PASSWORD)
    String _password();

    @AttributeDefinition(description = "How long to wait for the manager to connect and to answer a read (s); a "
            + "request waits for its own deadline plus this.", min = "1")
    int timeoutSeconds() default 10;

    @AttributeDefinition(description = "Retry-After (s) answered while the manager cannot be reached or refuses the "
            + "login.", min = "1")
    int unreachableRetrySeconds() default 5;
}
