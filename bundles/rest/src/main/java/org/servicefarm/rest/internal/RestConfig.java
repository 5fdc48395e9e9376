package org.servicefarm.rest.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the REST front end (PID {@value #PID}). */
@ObjectClassDefinition(name = "ServiceFarm REST front end",
        description = "Login, roles, login throttling and public address of the REST API under /api/v1.")
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

    @AttributeDefinition(description = "How many failed logins of one user from one client address are answered "
            + "401 before further attempts of that user from that address must wait (429 with Retry-After) and are "
            + "not checked.", min = "1")
    int throttleUserAddressFailures() default 5;

    @AttributeDefinition(description = "How many failed logins from one client address, whatever the user names, "
            + "are answered 401 before further attempts from that address must wait. Higher than the threshold for "
            + "one user at one address, so that a shared address (a proxy, a NAT) is slowed only by many failures.",
            min = "1")
    int throttleAddressFailures() default 20;

    @AttributeDefinition(description = "How many failed logins of one user, from whatever addresses, are answered "
            + "401 before further attempts for that user must wait. The highest threshold, so that an attacker "
            + "elsewhere slows the real user only after many failures and for at most the longest wait below; a "
            + "login remembered in the login cache passes all the same.", min = "1")
    int throttleUserFailures() default 50;

    @AttributeDefinition(description = "How many seconds failures are remembered: the count of a user, an address "
            + "or both starts over after this long without a failure.", min = "1")
    int throttleWindowSeconds() default 900;

    @AttributeDefinition(description = "How many seconds the first wait lasts once a threshold is reached; each "
            + "further failure doubles it.", min = "1")
    int throttleFirstDelaySeconds() default 1;

    @AttributeDefinition(description = "The longest wait in seconds, however many failures there were.", min = "1")
    int throttleMaxDelaySeconds() default 30;

    @AttributeDefinition(description = "How many users, addresses and user-address pairs with failed logins are "
            + "tracked at most; beyond that the least useful records are dropped, so that a flood of made-up names "
            + "cannot exhaust memory.", min = "1")
    int throttleTrackedKeys() default 10_000;

    @AttributeDefinition(description = "The address clients use to reach the API, e.g. https://farm.example.org/api/v1. "
            + "Empty means http://localhost:<HTTP port>/api/v1.")
    String baseUrl() default "";

    @AttributeDefinition(description = "The HTTP port of the address above. 0 means the framework property "
            + "org.osgi.service.http.port, or 8181 when that is not set.", min = "0", max = "65535")
    int httpPort() default 0;
}
