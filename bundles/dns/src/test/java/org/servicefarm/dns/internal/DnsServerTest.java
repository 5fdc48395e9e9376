package org.servicefarm.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.Activation;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Environment;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.NativeServiceStatus;
import org.servicefarm.api.Offering;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.Resolution;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.testing.ListedFarm;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** The DNS front end over real UDP and TCP on loopback, in front of a manager whose answers the test chooses. */
class DnsServerTest {

    static final Offering WIKI = new Offering("wiki", "2.1",
            new Environment("debian-12", "nginx-1.26", "php-8.2", List.of()), "standard");

    /** wiki on debian-12 only: what a refusal's suggestions come from. */
    static final DirectoryView DIRECTORY = (DirectoryView) Proxy.newProxyInstance(DnsServerTest.class.getClassLoader(),
            new Class<?>[] {DirectoryView.class}, (proxy, method, args) -> switch (method.getName()) {
                case "offerings" -> List.of(WIKI);
                case "resolve" -> new Resolution.Viable(WIKI, List.of());
                default -> throw new UnsupportedOperationException(method.getName());
            });

    /** Services hosts run themselves: one at an IP address, one at a DNS name. */
    static final NativeService S140 = new NativeService("s140-shop", "s140", WIKI, new Endpoint("127.0.0.9", 8080), "standard");
    static final NativeService S145 = new NativeService("s145-api", "s145", WIKI, new Endpoint("s145.example.org", 80), "standard");

    final ListedFarm manager = new ListedFarm() {
        @Override
        public Outcome request(ServiceRequest request) {
            throw new AssertionError("the DNS front end must not block on request()");
        }

        @Override
        public List<NativeServiceStatus> natives() {
            return List.of(new NativeServiceStatus(S140, true, null, null, 0),
                    new NativeServiceStatus(S145, true, null, null, 0));
        }
    }.withDirectory(DIRECTORY).answering(request -> {
        Outcome outcome = switch (request.service()) {
            case "wiki", "secret" -> "windows-2022".equals(request.environment().os())
                    ? new Outcome.Never("wiki needs php, windows-2022 has none", Duration.ZERO)
                    : new Outcome.Granted(new Endpoint("127.0.0.1", 22000), "sf-0123456789ab", "alpha",
                    Activation.ACTIVE, WIKI, List.of(), Duration.ZERO);
            case "shop" -> nativeGrant(S140);
            case "api" -> nativeGrant(S145);
            case "blog" -> new Outcome.RetryLater(Duration.ofSeconds(3), null, List.of(), "creating", Duration.ZERO,
                    "blog-ticket-" + (request.retryTicket() == null ? 1 : 2));
            default -> new Outcome.Never("unknown service '" + request.service() + "'", Duration.ZERO);
        };
        // later, on another thread: the server must answer when the stage completes
        return CompletableFuture.supplyAsync(() -> outcome, CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS));
    });
    final List<ServiceRequest> asked = manager.asked;
    final DnsServer server;

    DnsServerTest() throws Exception {
        Map<String, Object> config = new HashMap<>(Map.of("port", 0, "privateApplications", new String[] {"secret"}));
        server = new DnsServer(manager, Converters.standardConverter().convert(config).to(DnsConfig.class), null);
    }

    @AfterEach
    void stop() throws Exception {
        server.deactivate();
    }

    private Message ask(String name, int type, boolean tcp) throws Exception {
        return ask(name, type, tcp, "127.0.0.1");
    }

    /** Asks from {@code from}, an address of the loopback interface (127.0.0.0/8). */
    private Message ask(String name, int type, boolean tcp, String from) throws Exception {
        SimpleResolver resolver = new SimpleResolver("127.0.0.1");
        resolver.setLocalAddress(new java.net.InetSocketAddress(from, 0));
        resolver.setPort(server.port());
        resolver.setTCP(tcp);
        resolver.setTimeout(Duration.ofSeconds(10));
        return resolver.send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
    }

    @Test
    void aGrantIsAnSrvRecordWithTheEndpointAndItsAddress() throws Exception {
        for (boolean tcp : new boolean[] {false, true}) {
            Message answer = ask("_wiki._tcp.os-debian-12.runtime-php-8_2.sec-standard.farm.local.", Type.SRV, tcp);
            assertEquals(Rcode.NOERROR, answer.getRcode(), answer.toString());
            SRVRecord srv = (SRVRecord) answer.getSection(Section.ANSWER).get(0);
            assertEquals(22000, srv.getPort());
            assertEquals("sf-0123456789ab.vm.farm.local.", srv.getTarget().toString());
            ARecord a = (ARecord) answer.getSection(Section.ADDITIONAL).get(0);
            assertEquals("127.0.0.1", a.getAddress().getHostAddress());
        }
        ServiceRequest request = asked.get(0);
        assertEquals("wiki", request.service());
        assertEquals(new Environment("debian-12", null, "php-8.2", List.of()), request.environment());
        assertEquals("standard", request.securityLevel());
        assertEquals(Duration.ofMillis(1500), request.deadline());
    }

    private static Outcome nativeGrant(NativeService service) {
        return new Outcome.Granted(service.endpoint(), null, service.host(), Activation.NATIVE, WIKI, List.of(),
                Duration.ZERO);
    }

    @Test
    void aServiceAHostRunsItselfPointsAtTheHostsNameHereOrAtItsOwnDnsName() throws Exception {
        Message shop = ask("_shop._tcp.farm.local.", Type.SRV, false);
        SRVRecord srv = (SRVRecord) shop.getSection(Section.ANSWER).get(0);
        assertEquals(8080, srv.getPort());
        assertEquals("s140.host.farm.local.", srv.getTarget().toString());
        ARecord additional = (ARecord) shop.getSection(Section.ADDITIONAL).get(0);
        assertEquals("s140.host.farm.local.", additional.getName().toString());
        assertEquals("127.0.0.9", additional.getAddress().getHostAddress());
        Message address = ask("S140.host.farm.local.", Type.A, false);
        assertEquals("127.0.0.9", ((ARecord) address.getSection(Section.ANSWER).get(0)).getAddress().getHostAddress());
        assertEquals(Rcode.NXDOMAIN, ask("s999.host.farm.local.", Type.A, false).getRcode());
        assertEquals(Rcode.NXDOMAIN, ask("s145.host.farm.local.", Type.A, false).getRcode(), "a DNS name: not ours");
        Message hostZone = ask("host.farm.local.", Type.A, false);
        assertEquals(Rcode.NOERROR, hostZone.getRcode());
        assertTrue(hostZone.getSection(Section.ANSWER).isEmpty());

        Message api = ask("_api._tcp.farm.local.", Type.SRV, true);
        SRVRecord byName = (SRVRecord) api.getSection(Section.ANSWER).get(0);
        assertEquals("s145.example.org.", byName.getTarget().toString());
        assertEquals(80, byName.getPort());
        assertTrue(api.getSection(Section.ADDITIONAL).isEmpty(), api.toString());
    }

    @Test
    void anAQueryGetsTheAddress() throws Exception {
        Message answer = ask("_wiki._tcp.farm.local.", Type.A, false);
        assertEquals("127.0.0.1", ((ARecord) answer.getSection(Section.ANSWER).get(0)).getAddress().getHostAddress());
    }

    @Test
    void retryLaterIsServfailWithAShortTtlAndNeverIsNxdomainWithTheReason() throws Exception {
        Message later = ask("_blog._tcp.farm.local.", Type.SRV, false);
        assertEquals(Rcode.SERVFAIL, later.getRcode());
        assertEquals(3, later.getSection(Section.AUTHORITY).get(0).getTTL());

        Message never = ask("_nothing._tcp.farm.local.", Type.SRV, false);
        assertEquals(Rcode.NXDOMAIN, never.getRcode());
        assertTrue(never.toString().contains("unknown service 'nothing'"), never.toString());
        assertFalse(never.toString().contains("try "), "nothing is near 'nothing': " + never);
    }

    @Test
    void neverSuggestsTheNearestViableNamesAsTxt() throws Exception {
        Message never = ask("_wiki._tcp.os-windows-2022.runtime-php-8_2.farm.local.", Type.SRV, false);
        assertEquals(Rcode.NXDOMAIN, never.getRcode());
        List<String> texts = never.getSection(Section.AUTHORITY).stream().filter(r -> r instanceof TXTRecord)
                .flatMap(r -> ((TXTRecord) r).getStrings().stream()).toList();
        assertEquals(List.of("wiki needs php, windows-2022 has none",
                "try _wiki._tcp.os-debian-12.runtime-php-8_2.farm.local."), texts);
        // the suggested name, asked as it is, is granted
        assertEquals(Rcode.NOERROR, ask("_wiki._tcp.os-debian-12.runtime-php-8_2.farm.local.", Type.SRV, false)
                .getRcode());
    }

    @Test
    void aResolversNextQueryForANameItWasToldToRetryIsThatRequestsRetry() throws Exception {
        ask("_blog._tcp.farm.local.", Type.SRV, false);
        ask("_blog._tcp.farm.local.", Type.A, true); // the same resolver, by TCP now, for another type
        ask("_blog._tcp.farm.local.", Type.SRV, false);
        ask("_blog._tcp.farm.local.", Type.SRV, false, "127.0.0.2"); // another resolver: a request of its own
        assertEquals(java.util.Arrays.asList(null, "blog-ticket-1", "blog-ticket-2", null),
                asked.stream().map(ServiceRequest::retryTicket).toList());
    }

    @Test
    void aResolversQueriesForAGrantedNameWithinALookupAreOneRequest() throws Exception {
        // a resolver minimising its query names asks A, then SRV, for the name (Unbound does)
        Message address = ask("_wiki._tcp.os-debian-12.farm.local.", Type.A, false);
        Message srv = ask("_wiki._tcp.os-debian-12.farm.local.", Type.SRV, true);
        assertEquals(22000, ((SRVRecord) srv.getSection(Section.ANSWER).get(0)).getPort(), srv.toString());
        assertEquals("127.0.0.1", ((ARecord) address.getSection(Section.ANSWER).get(0)).getAddress().getHostAddress());
        assertEquals(1, asked.size(), "one lookup, one request: " + asked);

        ask("_wiki._tcp.os-debian-12.farm.local.", Type.SRV, false, "127.0.0.2"); // another resolver
        ask("_wiki._tcp.farm.local.", Type.SRV, false); // another name
        assertEquals(3, asked.size(), asked.toString());
        Thread.sleep(Answerer.SAME_LOOKUP_NANOS / 1_000_000 + 100);
        ask("_wiki._tcp.os-debian-12.farm.local.", Type.SRV, false); // a lookup of its own, later
        assertEquals(4, asked.size(), asked.toString());
    }

    @Test
    void aRequestsNameIsTheInverseOfParsing() {
        ServiceRequest request = new ServiceRequest("static-site", "1.0", new Environment("debian-12", "httpd-2.4",
                "php-8.2", List.of("cve-1", "cve-2")), "high", "gold", Duration.ofMillis(1500));
        String name = DnsNames.name(request);
        assertEquals("_static-site._tcp.v-1_0.os-debian-12.server-httpd-2_4.runtime-php-8_2.patch-cve-1.patch-cve-2"
                + ".sec-high.tier-gold", name);
        assertEquals(request, DnsNames.parse(List.of(name.split("\\.")), 1500).request());
    }

    @Test
    void privateApplicationsAreRefusedAndTheManagerIsNotAsked() throws Exception {
        assertEquals(Rcode.REFUSED, ask("_secret._tcp.farm.local.", Type.SRV, false).getRcode());
        assertTrue(asked.isEmpty());
    }

    @Test
    void theApexHasItsSoaAndNsAndTheNamesAboveTheServicesExistWithoutData() throws Exception {
        Message soa = ask("farm.local.", Type.SOA, false);
        assertEquals(Rcode.NOERROR, soa.getRcode(), soa.toString());
        assertEquals(Type.SOA, soa.getSection(Section.ANSWER).get(0).getType(), soa.toString());
        Message ns = ask("farm.local.", Type.NS, true);
        assertEquals("ns.farm.local.", ((NSRecord) ns.getSection(Section.ANSWER).get(0)).getTarget().toString());
        assertEquals("127.0.0.1", ((ARecord) ns.getSection(Section.ADDITIONAL).get(0)).getAddress().getHostAddress(),
                "the server's own address: it listens on 127.0.0.1");
        assertEquals("127.0.0.1", ((ARecord) ask("ns.farm.local.", Type.A, false).getSection(Section.ANSWER).get(0))
                .getAddress().getHostAddress());

        // what a resolver minimising its query names (RFC 9156) asks on the way to _wiki._tcp.os-debian-12.farm.local:
        // each must exist (NOERROR, no data), or it would take the NXDOMAIN for the whole name (RFC 8020)
        for (String above : List.of("farm.local.", "os-debian-12.farm.local.", "_tcp.os-debian-12.farm.local.",
                "_tcp.farm.local.", "sec-high.server-httpd-2_4.farm.local.", "vm.farm.local.")) {
            Message answer = ask(above, Type.A, false);
            assertEquals(Rcode.NOERROR, answer.getRcode(), above + ": " + answer);
            assertTrue(answer.getSection(Section.ANSWER).isEmpty(), above + ": " + answer);
            assertEquals(Type.SOA, answer.getSection(Section.AUTHORITY).get(0).getType(), "NODATA's SOA: " + answer);
        }
        assertEquals(Rcode.NOERROR, ask("_wiki._tcp.os-debian-12.farm.local.", Type.SRV, false).getRcode());
        assertEquals(Rcode.NOERROR, ask("farm.local.", Type.TXT, false).getRcode(), "a type the apex has not: NODATA");
        // not above any name the grammar accepts
        for (String nothing : List.of("wiki.farm.local.", "color-red.farm.local.", "os-a.os-b.farm.local.",
                "_tcp.wiki.farm.local.", "x.vm.farm.local.")) {
            assertEquals(Rcode.NXDOMAIN, ask(nothing, Type.A, false).getRcode(), nothing);
        }
        assertEquals(1, asked.size(), "only the service's name reached the manager: " + asked);
    }

    @Test
    void badNamesAreRefusedOrNxdomainAndReachNothing() throws Exception {
        assertEquals(Rcode.REFUSED, ask("_wiki._tcp.example.org.", Type.SRV, false).getRcode(), "outside the zone");
        assertEquals(Rcode.NXDOMAIN, ask("wiki.farm.local.", Type.SRV, false).getRcode());
        assertEquals(Rcode.NXDOMAIN, ask("_wiki._tcp.color-red.farm.local.", Type.SRV, false).getRcode());
        assertEquals(Rcode.NXDOMAIN, ask("_wiki._tcp.os-a.os-b.farm.local.", Type.SRV, false).getRcode());
        // a label DNS allows but the API's names do not (a leading '-', a '*', a byte outside ASCII)
        assertEquals(Rcode.NXDOMAIN, ask("_-x._tcp.farm.local.", Type.SRV, false).getRcode());
        assertEquals(Rcode.NXDOMAIN, ask("_wiki._tcp.os-\\*.farm.local.", Type.SRV, false).getRcode());
        assertEquals(Rcode.NXDOMAIN, ask("_wiki._tcp.os-\\255.farm.local.", Type.SRV, false).getRcode());
        assertTrue(asked.isEmpty(), "none reached the manager: " + asked);
    }
    @Test
    void aMalformedQueryIsAnsweredFormerrAndGarbageWithoutAHeaderNothing() throws Exception {
        // a query's header (id 0x1234, RD) and then a question whose name runs past the message's end
        byte[] malformed = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 63, 'a', 'b'};
        try (java.net.DatagramSocket socket = new java.net.DatagramSocket()) {
            socket.setSoTimeout(2000);
            java.net.InetSocketAddress dns = new java.net.InetSocketAddress("127.0.0.1", server.port());
            socket.send(new java.net.DatagramPacket(malformed, malformed.length, dns));
            java.net.DatagramPacket reply = new java.net.DatagramPacket(new byte[512], 512);
            socket.receive(reply);
            Message answer = new Message(java.util.Arrays.copyOf(reply.getData(), reply.getLength()));
            assertEquals(0x1234, answer.getHeader().getID());
            assertEquals(Rcode.FORMERR, answer.getRcode());
            assertTrue(answer.getHeader().getFlag(org.xbill.DNS.Flags.QR));
            assertTrue(answer.getHeader().getFlag(org.xbill.DNS.Flags.RD), "the query's RD is copied");

            // shorter than a header, or a response: answered with nothing (a response to a response could loop)
            byte[] response = malformed.clone();
            response[2] |= (byte) 0x80;
            for (byte[] garbage : List.of(new byte[] {1, 2, 3, 4, 5}, response)) {
                socket.send(new java.net.DatagramPacket(garbage, garbage.length, dns));
            }
            socket.setSoTimeout(300);
            assertThrows(java.net.SocketTimeoutException.class, () -> socket.receive(reply));
        }
        // over TCP the connection carries on after a FORMERR: the next query is answered
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(5000);
            java.io.DataOutputStream out = new java.io.DataOutputStream(socket.getOutputStream());
            java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
            out.writeShort(malformed.length);
            out.write(malformed);
            byte[] formerr = new byte[in.readUnsignedShort()];
            in.readFully(formerr);
            assertEquals(Rcode.FORMERR, new Message(formerr).getRcode());
            byte[] query = Message.newQuery(Record.newRecord(Name.fromString("farm.local."), Type.SOA, DClass.IN))
                    .toWire();
            out.writeShort(query.length);
            out.write(query);
            byte[] soa = new byte[in.readUnsignedShort()];
            in.readFully(soa);
            assertEquals(Rcode.NOERROR, new Message(soa).getRcode());
        }
        assertTrue(asked.isEmpty(), "none reached the manager: " + asked);
    }
}
