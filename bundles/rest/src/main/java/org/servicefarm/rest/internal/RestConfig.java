package org.servicefarm.rest.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the REST front end (PID {@value #PID}). */
@ObjectClassDefinition(name = "ServiceFarm REST front end",
        description = "Login, roles and public address of the REST API under /api/v1.")
public @interface RestConfig {

    String PID = "org.servicefarm.rest";

    @AttributeDefinition(description = "The JAAS realm that checks HTTP Basic logins. Karaf's own realm, "
            + "backed by etc/users.properties, is called karaf.")
    String realm() default "karaf";

    @AttributeDefinition(description = "The realm role that grants the API's role viewer, which may read: every "
            + "GET under /api/v1.")
    String viewerRole() default "viewer";

    @AttributeDefinition(description = "The realm role that grants the API's role operator, which may also act: "
            + "ask for services with POST /api/v1/requests. It includes the viewer's rights.")
    String operatorRole() default "operator";

    @AttributeDefinition(description = "The realm role that grants the API's role admin, which may also manage the "
            + "farm: add and remove hosts. It includes the operator's rights.")
    String adminRole() default "admin";

    @AttributeDefinition(description = "How many seconds a successful login is remembered, so that not every "
            + "request runs a JAAS login. A changed password or role takes effect after at most this long. "
            + "0 turns the cache off.", min = "0")
    int loginCacheSeconds() default 60;

    @AttributeDefinition(description = "How many distinct logins the cache remembers at most.", min = "1")
    int loginCacheSize() default 1024;

    @AttributeDefinition(description = "The address clients use to reach the API, e.g. https://farm.example.org/api/v1. "
            + "Empty means http://localhost:<HTTP port>/api/v1.")
    String baseUrl() default "";

    @AttributeDefinition(description = "The HTTP port of the address above. 0 means the framework property "
            + "org.osgi.service.http.port, or 8181 when that is not set.", min = "0", max = "65535")
    int httpPort() default 0;
}
