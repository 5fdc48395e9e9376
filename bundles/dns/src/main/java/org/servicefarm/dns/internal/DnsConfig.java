package org.servicefarm.dns.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the DNS front end (PID {@value #PID}). */
@ObjectClassDefinition(name = "ServiceFarm DNS front end",
        description = "A DNS server answering SRV and A/AAAA queries for _service._tcp.<labels>.<zone> by the request path.")
public @interface DnsConfig {

    String PID = "org.servicefarm.dns";

    @AttributeDefinition(description = "The address the server listens on (UDP and TCP). 127.0.0.1 keeps it on this "
            + "machine; 0.0.0.0 opens it to the network.")
    String address() default "127.0.0.1";

    @AttributeDefinition(description = "The port, UDP and TCP. 53 needs the right to bind it.", min = "1", max = "65535")
    int port() default 8053;

    @AttributeDefinition(description = "The zone the server is authoritative for; names are _service._tcp[.labels].zone.")
    String zone() default "farm.local";

    @AttributeDefinition(description = "How long a query may wait for its VM (ms) before it is answered SERVFAIL "
            + "(retry later). Keep it below a resolver's time-out (dig: 5 s).", min = "0")
    long deadlineMs() default 1500;

    @AttributeDefinition(description = "TTL (s) of a granted answer.", min = "0")
    int ttl() default 30;

    @AttributeDefinition(description = "TTL (s) of a SERVFAIL (retry later), as the SOA minimum of its authority "
            + "section: resolvers should ask again soon.", min = "0")
    int retryTtl() default 3;

    @AttributeDefinition(description = "TTL (s) of an NXDOMAIN (never viable).", min = "0")
    int negativeTtl() default 60;

    @AttributeDefinition(description = "Applications whose registrations are private: never answered over DNS "
            + "(REFUSED), only through the authenticated REST API. All others are published, answered to anyone.")
    String[] privateApplications() default {};
}
