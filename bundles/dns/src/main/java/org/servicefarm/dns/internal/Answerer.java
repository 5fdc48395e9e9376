package org.servicefarm.dns.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.servicefarm.api.Endpoint;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.suggest.Suggestions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Answers one DNS query by the request path ({@link ServiceManager#requestAsync}), never holding a thread while a VM
 * is prepared:
 * <ul>
 * <li>SRV, A, AAAA or ANY for {@code _service._tcp[.labels].zone} ({@link DnsNames}): GRANTED is an SRV record whose
 * target {@code <vm id>.vm.<zone>} has the endpoint's address in the additional section (an A or AAAA query gets
 * the address itself); RETRY_LATER is SERVFAIL with a short SOA minimum; NEVER is NXDOMAIN with the reason as a TXT
 * record in the authority section.</li>
 * <li>A or AAAA for {@code <vm id>.vm.<zone>}: the VM's endpoint address, from the state table.</li>
 * <li>The zone's apex: its SOA and its NS, {@code ns.<zone>}, whose A or AAAA is the server's own address when it
 * listens on one. Names that exist only as ancestors of the others ({@code vm.<zone>}, {@code _tcp.<zone>},
 * {@code os-debian-12.<zone>}...) and any type a name does not have: NOERROR with no data.</li>
 * <li>A private application: REFUSED. A name outside the zone: REFUSED. A name breaking the grammar: NXDOMAIN.</li>
 * </ul>
 */
final class Answerer {

    private static final Logger LOG = LoggerFactory.getLogger(Answerer.class);

    private final ServiceManager manager;
    private final DnsConfig config;
    private final Name zone;
    private final Name vmZone;
    /** Names of the hosts that run services themselves: {@code <host>.host.<zone>}, the SRV targets of their grants. */
    private final Name hostZone;
    private final Name nameServer;
    private final Set<String> privateApplications;
    /**
     * What was last answered to a resolver for a name, by resolver address and name, so that one lookup is one
     * request for popularity and the keep-alive policy to count: after a RETRY_LATER (a SERVFAIL) the resolver asks
     * again on its own, and its next query for the name is that request's retry; after a GRANTED, a query for the name
     * within {@link #SAME_LOOKUP_NANOS} is the same lookup asking for another type (a resolver minimising its query names
     * asks A before SRV; a client asks SRV, then A) and is answered from the grant, not counted again. Least recently
     * used first out; an entry goes when the name is answered otherwise.
     */
    private final Map<String, Last> recent = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Last> eldest) {
                    return size() > RECENT_KEPT;
                }
            });
    static final int RECENT_KEPT = 10_000;
    /** How long a grant answers a resolver's other queries for the same name: well under the records' TTL. */
    static final long SAME_LOOKUP_NANOS = 2_000_000_000L;

    /** A RETRY_LATER's ticket, or a grant and when it was answered. */
    private record Last(String ticket, Outcome.Granted granted, long atNanos) {
    }

    Answerer(ServiceManager manager, DnsConfig config) {
        this.manager = manager;
        this.config = config;
        try {
            this.zone = Name.fromString(config.zone(), Name.root);
            this.vmZone = Name.fromString("vm", zone);
            this.hostZone = Name.fromString("host", zone);
            this.nameServer = Name.fromString("ns", zone);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("zone is not a DNS name: " + e.getMessage(), e);
        }
        this.privateApplications = Set.of(lower(config.privateApplications()));
    }

    /** The configuration it answers by, which the server listens by too. */
    DnsConfig config() {
        return config;
    }

    String zone() {
        return zone.toString(true);
    }

    /** The answer to {@code query} from an unknown client (its retries are counted as requests). */
    CompletionStage<Message> answer(Message query) {
        return answer(query, null);
    }

    /**
     * The answer to {@code query} from {@code client} (its address, or null); completes when the request path has
     * answered, at the latest at the deadline.
     */
    CompletionStage<Message> answer(Message query, InetAddress client) {
        Record question = query.getQuestion();
        Message response = reply(query);
        if (query.getHeader().getOpcode() != Opcode.QUERY || question == null) {
            response.getHeader().setRcode(Rcode.NOTIMP);
            return done(response);
        }
        Name name = question.getName();
        int type = question.getType();
        if (!name.subdomain(zone)) {
            response.getHeader().setRcode(Rcode.REFUSED);
            return done(response);
        }
        response.getHeader().setFlag(Flags.AA);
        if (name.equals(zone)) {
            return done(apex(response, type));
        }
        if (name.equals(nameServer)) {
            return done(nameServerAddress(response, type));
        }
        if (name.equals(vmZone)) {
            return done(noData(response));
        }
        if (name.subdomain(vmZone)) {
            return done(vmAddress(response, name, type));
        }
        if (name.equals(hostZone)) {
            return done(noData(response));
        }
        if (name.subdomain(hostZone)) {
            return done(hostAddress(response, name, type));
        }
        List<String> labels = relative(name);
        DnsNames.Query parsed;
        try {
            parsed = DnsNames.parse(labels, config.deadlineMs());
        } catch (InvalidRequestException e) {
            return done(DnsNames.isAncestor(labels) ? noData(response) : nxdomain(response, e.getMessage()));
        }
        if (privateApplications.contains(parsed.service())) {
            response.getHeader().setRcode(Rcode.REFUSED);
            return done(response);
        }
        if (type != Type.SRV && type != Type.A && type != Type.AAAA && type != Type.ANY) {
            return done(noData(response)); // the name may exist, not with this type
        }
        String lookupKey = client == null ? null : client.getHostAddress() + " " + name.toString().toLowerCase(Locale.ROOT);
        Last last = lookupKey == null ? null : recent.get(lookupKey);
        if (last != null && last.granted() != null && System.nanoTime() - last.atNanos() < SAME_LOOKUP_NANOS) {
            return done(outcome(response, name, type, last.granted(), parsed.request()));
        }
        String ticket = last == null ? null : last.ticket();
        ServiceRequest request = ticket == null ? parsed.request() : parsed.request().withRetryTicket(ticket);
        CompletionStage<Outcome> outcome;
        try {
            outcome = manager.requestAsync(request);
        } catch (InvalidRequestException e) {
            return done(nxdomain(response, e.getMessage()));
        }
        return outcome.handle((answer, failure) -> {
            if (lookupKey != null) {
                if (answer instanceof Outcome.RetryLater later && later.retryTicket() != null) {
                    recent.put(lookupKey, new Last(later.retryTicket(), null, System.nanoTime()));
                } else if (answer instanceof Outcome.Granted granted) {
                    recent.put(lookupKey, new Last(null, granted, System.nanoTime()));
                } else {
                    recent.remove(lookupKey);
                }
            }
            if (failure != null) {
                LOG.warn("DNS request for {} failed: {}", parsed.service(), failure.toString());
                response.getHeader().setRcode(Rcode.SERVFAIL);
                soa(response, config.retryTtl());
                return response;
            }
            return outcome(response, name, type, answer, parsed.request());
        });
    }

    private Message outcome(Message response, Name name, int type, Outcome answer, ServiceRequest asked) {
        if (answer instanceof Outcome.Granted granted) {
            Endpoint endpoint = granted.endpoint();
            InetAddress address = address(endpoint.host());
            Name target = target(granted);
            if (type == Type.SRV || type == Type.ANY) {
                response.addRecord(new SRVRecord(name, DClass.IN, config.ttl(), 0, 0, endpoint.port(), target),
                        Section.ANSWER);
                if (address != null) {
                    response.addRecord(addressRecord(target, address), Section.ADDITIONAL);
                }
            } else if (address != null && matches(type, address)) {
                response.addRecord(addressRecord(name, address), Section.ANSWER);
            }
            return response;
        }
        if (answer instanceof Outcome.RetryLater) {
            response.getHeader().setRcode(Rcode.SERVFAIL);
            soa(response, config.retryTtl());
            return response;
        }
        nxdomain(response, ((Outcome.Never) answer).reason());
        for (ServiceRequest suggestion : suggestions(asked)) {
            // a name to ask instead, for a person reading dig's output or a resolver library's error
            response.addRecord(new TXTRecord(zone, DClass.IN, 0, "try " + DnsNames.name(suggestion) + "." + zone),
                    Section.AUTHORITY);
        }
        return response;
    }

    /** The nearest viable requests that DNS answers (private applications left out); none if the directory fails. */
    private List<ServiceRequest> suggestions(ServiceRequest asked) {
        try {
            return Suggestions.nearest(manager.directory(), asked).stream()
                    .filter(s -> !privateApplications.contains(s.service())).toList();
        } catch (RuntimeException e) {
            LOG.debug("no suggestions for {}: {}", asked.service(), e.toString());
            return List.of();
        }
    }

    /** The apex: its SOA and NS (what a resolver or a secondary checks of a zone), nothing else. */
    private Message apex(Message response, int type) {
        if (type == Type.SOA || type == Type.ANY) {
            response.addRecord(soaRecord(config.negativeTtl()), Section.ANSWER);
        }
        if (type == Type.NS || type == Type.ANY) {
            response.addRecord(new NSRecord(zone, DClass.IN, config.negativeTtl(), nameServer), Section.ANSWER);
            InetAddress own = ownAddress();
            if (own != null) {
                response.addRecord(addressRecord(nameServer, own), Section.ADDITIONAL);
            }
        }
        return response.getSection(Section.ANSWER).isEmpty() ? noData(response) : response;
    }

    /** {@code ns.<zone>}: the address the server listens on, if one (not the wildcard). */
    private Message nameServerAddress(Message response, int type) {
        InetAddress own = ownAddress();
        if (own != null && matches(type, own)) {
            response.addRecord(addressRecord(nameServer, own), Section.ANSWER);
            return response;
        }
        return noData(response);
    }

    private InetAddress ownAddress() {
        InetAddress own = address(config.address());
        return own == null || own.isAnyLocalAddress() ? null : own;
    }

    /** NOERROR with no record of the type asked: the name exists. */
    private Message noData(Message response) {
        soa(response, config.negativeTtl());
        return response;
    }

    private Message vmAddress(Message response, Name name, int type) {
        Name relative = name.relativize(vmZone);
        String id = relative.labels() == 1 ? relative.getLabelString(0).toLowerCase(Locale.ROOT) : "";
        VmRecord vm = manager.stateTable().vm(id).orElse(null);
        Endpoint endpoint = vm == null || !vm.state().occupiesHost() ? null : vm.endpoint();
        return addressOf(response, name, type, endpoint, "no such VM");
    }

    /** The address record of {@code endpoint} under {@code name}, NXDOMAIN saying {@code missing} without one. */
    private Message addressOf(Message response, Name name, int type, Endpoint endpoint, String missing) {
        if (endpoint == null) {
            return nxdomain(response, missing);
        }
        InetAddress address = address(endpoint.host());
        if (address != null && matches(type, address)) {
            response.addRecord(addressRecord(name, address), Section.ANSWER);
            return response;
        }
        return noData(response);
    }

    private Message nxdomain(Message response, String reason) {
        response.getHeader().setRcode(Rcode.NXDOMAIN);
        soa(response, config.negativeTtl());
        // why, for a person reading dig's output; a TXT string holds at most 255 bytes
        String text = reason.length() > 250 ? reason.substring(0, 250) : reason;
        response.addRecord(new TXTRecord(zone, DClass.IN, 0, text), Section.AUTHORITY);
        return response;
    }

    private void soa(Message response, long minimum) {
        response.addRecord(soaRecord(minimum), Section.AUTHORITY);
    }

    private SOARecord soaRecord(long minimum) {
        try {
            return new SOARecord(zone, DClass.IN, minimum, nameServer, Name.fromString("hostmaster", zone), 1, 3600,
                    600, 86400, minimum);
        } catch (TextParseException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Where an SRV record of a grant points: the VM's name, or for a service a host runs itself the host's name here
     * ({@link #hostAddress}) when its address is an IP address, else that DNS name as it is.
     */
    private Name target(Outcome.Granted granted) {
        if (granted.vmId() != null) {
            return vmName(granted.vmId());
        }
        String host = granted.endpoint().host();
        try {
            return address(host) == null ? Name.fromString(host.endsWith(".") ? host : host + ".")
                    : Name.fromString(granted.hostId(), hostZone);
        } catch (TextParseException e) {
            throw new IllegalStateException("not a DNS name: " + host, e);
        }
    }

    /** {@code <host>.host.<zone>}: the IP address of a host that runs a service itself. */
    private Message hostAddress(Message response, Name name, int type) {
        String host = name.relativize(hostZone).toString(true);
        List<NativeServiceStatus> natives;
        try {
            natives = manager.natives();
        } catch (RuntimeException e) { // a manager that knows none (another appliance's)
            natives = List.of();
        }
        Endpoint endpoint = natives.stream().map(NativeServiceStatus::service)
                .filter(s -> s.host().equalsIgnoreCase(host) && address(s.endpoint().host()) != null)
                .map(NativeService::endpoint).findFirst().orElse(null);
        return addressOf(response, name, type, endpoint, "no such host");
    }

    private Name vmName(String vmId) {
        try {
            return Name.fromString(vmId, vmZone);
        } catch (TextParseException e) {
            throw new IllegalStateException("VM id is not a DNS label: " + vmId, e);
        }
    }

    private Record addressRecord(Name name, InetAddress address) {
        return address.getAddress().length == 4 ? new ARecord(name, DClass.IN, config.ttl(), address)
                : new AAAARecord(name, DClass.IN, config.ttl(), address);
    }

    private static boolean matches(int type, InetAddress address) {
        boolean v4 = address.getAddress().length == 4;
        return type == Type.ANY || (type == Type.A && v4) || (type == Type.AAAA && !v4);
    }

    /** An endpoint's host as an address: endpoints name addresses; a host name is not resolved (no lookup here). */
    private static InetAddress address(String host) {
        try {
            return host.matches("[0-9.]+|[0-9a-fA-F:]+") ? InetAddress.getByName(host) : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private List<String> relative(Name name) {
        Name relative = name.relativize(zone);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < relative.labels(); i++) {
            labels.add(relative.getLabelString(i));
        }
        return labels;
    }

    private static Message reply(Message query) {
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setFlag(Flags.QR);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
        }
        if (query.getQuestion() != null) {
            response.addRecord(query.getQuestion(), Section.QUESTION);
        }
        return response;
    }

    private static CompletionStage<Message> done(Message response) {
        return CompletableFuture.completedFuture(response);
    }

    private static String[] lower(String[] names) {
        return java.util.Arrays.stream(names).map(n -> n.trim().toLowerCase(Locale.ROOT)).filter(n -> !n.isEmpty())
                .distinct().toArray(String[]::new);
    }
}
