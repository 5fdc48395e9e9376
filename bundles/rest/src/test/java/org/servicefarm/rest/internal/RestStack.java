package org.servicefarm.rest.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.cxf.Bus;
import org.apache.cxf.BusFactory;
import org.apache.cxf.jaxrs.JAXRSServerFactoryBean;
import org.apache.cxf.transport.servlet.CXFNonSpringServlet;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.FilterHolder;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.testing.ListedKeepAlive;

/**
 * The REST front end as the appliance runs it, in-process: CXF's JAX-RS servlet in Jetty 9.4 (the
 * Jetty of Pax Web) on a free loopback port, with the bundle's resources over a
 * {@link FixedServiceManager}, and its login and role filters, JSON provider and mappers, as the
 * whiteboard registers them. A JAAS configuration of {@link TestLoginModule} stands in for Karaf's
 * realm, and the login cache and throttle run on a clock the test moves ({@link #nanos}). Requests
 * go over a plain socket, so that a test chooses every byte of the request line and the client's
 * own address. A test starts one of its own ({@link #start}, closed after use), or shares one with
 * the other tests of its class ({@link #perClass}).
 */
final class RestStack implements AutoCloseable, BeforeAllCallback, BeforeEachCallback, AfterAllCallback {

    /** A demo login of {@link TestLoginModule}. */
    record Login(String user, String password) {
        static final Login VIEWER = new Login("viewer", "viewer-pw");
        static final Login OPERATOR = new Login("operator", "operator-pw");
        static final Login ADMIN = new Login("admin", "admin-pw");
        static final Login GUEST = new Login("guest", "guest-pw");

        String header() {
            return basic(user, password);
        }
    }

    static final String JSON = "application/json";

    final FixedServiceManager manager = new FixedServiceManager();
    final FixedImageService images = new FixedImageService();
    final ListedKeepAlive keepAlive = new ListedKeepAlive("adaptive");
    /** The status resource, with the REST front end registered, as DS would bind it. */
    final StatusResource status = new StatusResource(manager);
    /** What the whiteboard's DTO would say of the API ({@link ApiStartingFilter}); set with {@link #publishing}. */
    private volatile ApiServing apiServing = ApiServing.READY;
    private final AtomicLong publications = new AtomicLong();
    /** The clock of the login cache and the throttle, in nanoseconds. */
    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final Map<String, Object> config;
    private final boolean wadlOff;
    private final Object[] extraResources;
    private Server jetty;
    private Application api;
    private Application elsewhere;

    /** A JAX-RS application as the whiteboard makes one: its CXF bus and the endpoint its servlet dispatches to. */
    private record Application(Bus bus, org.apache.cxf.endpoint.Server endpoint) {
    }
    private int port;

    private RestStack(Map<String, Object> config, boolean wadlOff, Object... extraResources) {
        this.config = config;
        this.wadlOff = wadlOff;
        this.extraResources = extraResources;
        status.addFrontEnd(() -> "http://localhost:8181/api/v1", Map.of("frontend.name", "rest"));
    }

    /** A started stack with the default configuration plus {@code config}, and any further resources. */
    static RestStack start(Map<String, Object> config, Object... extraResources) {
        return new RestStack(config, true, extraResources).started();
    }

    static RestStack start() {
        return start(Map.of());
    }

    /** A started stack whose WADL is CXF's own, as if {@link WadlOff} were missing. */
    static RestStack startWithCxfWadl() {
        return new RestStack(Map.of(), false).started();
    }

    /**
     * A stack for all tests of a class ({@code @RegisterExtension static final}): started before the
     * first, stopped after the last, its manager reset before each.
     */
    static RestStack perClass(Object... extraResources) {
        return new RestStack(Map.of(), true, extraResources);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        started();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        manager.reset();
        images.reset();
        publishing(ApiServing.READY);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    private RestStack started() {
        try {
            start(config(config));
            return this;
        } catch (Exception e) {
            throw new IllegalStateException("the REST stack did not start", e);
        }
    }

    private void start(RestConfig restConfig) throws Exception {
        List<Object> resources = new ArrayList<>(List.of(new RequestResource(manager), new CatalogResource(manager),
                new VmResource(manager), new HostResource(manager), new ImageResource(images),
                new ComponentResource(images), new PopularityResource(images), new OpenApiResource(), status,
                new KeepAliveResource(keepAlive)));
        resources.addAll(List.of(extraResources));
        ApiStartingFilter starting = new ApiStartingFilter(publications::get, () -> apiServing, System::nanoTime);
        List<Object> extensions = new ArrayList<>(List.of(new ApiStartingRequestFilter(starting),
                new LoginFilter(restConfig, null, TestLoginModule.configuration("karaf", "farm"), nanos::get),
                new RoleFilter(restConfig), new UntypedBodyFilter(), new RequestIdFilter(), new JsonProvider(), new ProblemMapper(), new JsonProblemMapper()));
        if (wadlOff) {
            extensions.add(new WadlOff());
        }
        // as the JAX-RS whiteboard serves them (through Pax Web): the API's application (ApiApplication) in an HTTP
        // context of its own at its base, its servlet at /* there, and the default application (other bundles'
        // resources, such as /metrics) at the root, each with the extensions
        ServletContextHandler apiContext = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
        apiContext.setContextPath("/" + ApiApplication.BASE);
        ServletContextHandler rootContext = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
        rootContext.setContextPath("/");
        api = application(apiContext, "/*", resources, extensions);
        // the starting check selects the API's application only
        elsewhere = application(rootContext, "/*", List.of(new ProbeResources.Elsewhere()),
                extensions.stream().filter(e -> !(e instanceof ApiStartingRequestFilter)).toList());
        // as the HTTP whiteboard puts them in front of the JAX-RS whiteboard's servlets, in every context
        for (javax.servlet.Filter filter : List.of(new RequestCharsetFilter(), starting)) {
            for (ServletContextHandler context : List.of(apiContext, rootContext)) {
                FilterHolder holder = new FilterHolder(filter);
                holder.setAsyncSupported(true);
                context.addFilter(holder, "/*", java.util.EnumSet.of(javax.servlet.DispatcherType.REQUEST));
            }
        }
        jetty = new Server(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        jetty.setHandler(new org.eclipse.jetty.server.handler.ContextHandlerCollection(apiContext, rootContext));
        jetty.start();
        port = ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    /** One JAX-RS application: a CXF bus and endpoint with its servlet at {@code pattern}. */
    private static Application application(ServletContextHandler context, String pattern,
                                                              List<Object> resources, List<Object> extensions) {
        Bus bus = BusFactory.newInstance().createBus();
        JAXRSServerFactoryBean endpoint = new JAXRSServerFactoryBean();
        endpoint.setBus(bus);
        endpoint.setAddress("/");
        endpoint.setStaticSubresourceResolution(false);
        endpoint.setServiceBeans(resources);
        endpoint.setProviders(extensions);
        org.apache.cxf.endpoint.Server server = endpoint.create();
        CXFNonSpringServlet servlet = new CXFNonSpringServlet();
        servlet.setBus(bus);
        ServletHolder holder = new ServletHolder(servlet);
        holder.setInitOrder(0);
        holder.setAsyncSupported(true); // as Pax Web's: POST /api/v1/requests answers asynchronously
        context.addServlet(holder, pattern);
        return new Application(bus, server);
    }

    static RestConfig config(Map<String, Object> properties) {
        return Converters.standardConverter().convert(new HashMap<>(properties)).to(RestConfig.class);
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** The whiteboard's runtime now says this of the API (its change count moves). */
    void publishing(ApiServing serving) {
        apiServing = serving;
        publications.incrementAndGet();
    }

    /**
     * Runs {@code meanwhile} while the API's servlet has no endpoint, as while the whiteboard re-creates it for a
     * resource that came (the CXF server destroyed and a new one not started yet).
     */
    void withoutApiEndpoint(Runnable meanwhile) {
        api.endpoint().stop();
        try {
            meanwhile.run();
        } finally {
            api.endpoint().start();
        }
    }

    void advanceSeconds(long seconds) {
        nanos.addAndGet(seconds * 1_000_000_000L);
    }

    Answer get(String target, Login login) {
        return send("GET", target, login == null ? null : login.header(), null, null);
    }

    Answer post(String target, Login login, String json) {
        return send("POST", target, login == null ? null : login.header(), JSON, json);
    }

    Answer delete(String target, Login login) {
        return send("DELETE", target, login == null ? null : login.header(), null, null);
    }

    Answer send(String method, String target, String authorization, String contentType, String body) {
        return send(method, target, authorization, contentType, body, InetAddress.getLoopbackAddress());
    }

    /**
     * One HTTP/1.1 request on a new connection from {@code from} (any 127.x.y.z address works on
     * Linux), the request target sent exactly as given.
     */
    Answer send(String method, String target, String authorization, String contentType, String body,
                InetAddress from) {
        return send(method, target, authorization, contentType, body, from, Map.of());
    }

    /** A request with further header lines, each sent as given. */
    Answer send(String method, String target, Login login, Map<String, String> headers) {
        return send(method, target, login == null ? null : login.header(), null, null,
                InetAddress.getLoopbackAddress(), headers);
    }

    private Answer send(String method, String target, String authorization, String contentType, String body,
                        InetAddress from, Map<String, String> extraHeaders) {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                .append("Host: localhost:").append(port).append("\r\n")
                .append("Connection: close\r\n");
        if (authorization != null) {
            head.append("Authorization: ").append(authorization).append("\r\n");
        }
        if (contentType != null) {
            head.append("Content-Type: ").append(contentType).append("\r\n");
        }
        extraHeaders.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
        if (body != null) {
            head.append("Content-Length: ").append(content.length).append("\r\n");
        }
        head.append("\r\n");
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port, from, 0)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(content);
            out.flush();
            return read(socket.getInputStream(), method.equals("HEAD"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Answer read(InputStream in, boolean head) throws IOException {
        String statusLine = line(in);
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String line = line(in); !line.isEmpty(); line = line(in)) {
            int colon = line.indexOf(':');
            headers.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), name -> new ArrayList<>())
                    .add(line.substring(colon + 1).trim());
        }
        byte[] body;
        List<String> encoding = headers.get("transfer-encoding");
        if (head) {
            body = new byte[0];
        } else if (encoding != null && encoding.get(0).equalsIgnoreCase("chunked")) {
            ByteArrayOutputStream chunks = new ByteArrayOutputStream();
            for (int size = Integer.parseInt(line(in).split(";")[0].trim(), 16); size > 0;
                 size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) {
                chunks.write(in.readNBytes(size));
                line(in);
            }
            body = chunks.toByteArray();
        } else if (headers.containsKey("content-length")) {
            body = in.readNBytes(Integer.parseInt(headers.get("content-length").get(0)));
        } else {
            body = in.readAllBytes();
        }
        // The server closes the connection (Connection: close): read to the end, so that closing
        // the socket never resets a connection the server is still finishing.
        in.readAllBytes();
        return new Answer(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("the connection closed in the middle of a line: " + line);
            }
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            api.bus().shutdown(true);
            elsewhere.bus().shutdown(true);
        }
    }
}
