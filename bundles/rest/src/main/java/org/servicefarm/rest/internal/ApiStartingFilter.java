package org.servicefarm.rest.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.hooks.service.EventListenerHook;
import org.osgi.framework.hooks.service.ListenerHook;
import org.osgi.service.component.ComponentConstants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.jaxrs.runtime.JaxrsServiceRuntime;
import org.osgi.service.jaxrs.runtime.dto.RuntimeDTO;
import org.osgi.service.jaxrs.whiteboard.JaxrsWhiteboardConstants;

/**
 * Answers {@code /api/...} with 503, {@code Retry-After: 1} and a problem while the JAX-RS whiteboard does not serve
 * the API whole ({@link ApiServing}): at boot, while the core restarts, and while the whiteboard rebuilds the API's
 * application for a resource that comes or goes. Without it a client got CXF's HTML {@code 404 No service was
 * found} in those moments, which reads as "no such thing" (a NEVER is a 404 too), not as "ask again in a second".
 * <p>
 * The whiteboard's DTO is read only when something changed: the runtime's {@code service.changecount} moved, or a
 * service the API's application is made of is being registered, modified or unregistered. The whiteboard takes such
 * a change in synchronously, inside the service event, and moves the change count only after it rebuilt the
 * application; this component hears the event first, as a service event listener hook (called before any listener),
 * so the API counts as in flux from the event until the count moves (at most {@link #FLUX_LIMIT_NANOS}, should it
 * never move), and the event waits for the requests already let through ({@link #resourceChanging}).
 * <p>
 * The DTO lists a resource as served before the whiteboard has re-created the API's endpoint with it, and at boot no
 * service event comes before that (the resources were registered before the whiteboard started): a request let
 * through then meets no endpoint, and CXF's "No service was found" page is caught ({@link UnpublishedApiResponse})
 * and answered as "being published again" instead. Nor does an event come for a resource that is not registered yet
 * although the service it waits for is (the component runtime registers the resources one after another inside the
 * event that satisfies them): such resources count as missing ({@link ComingResources}).
 * <p>
 * The same verdict is checked again inside the API's JAX-RS application ({@link ApiStartingRequestFilter}), for the
 * moments this filter is not in place yet when the application already serves.
 * <p>
 * The runtime is optional: the REST bundle starts before the whiteboard (start level 75 in the feature), so that at
 * boot this filter stands before the whiteboard's servlets do; until the runtime comes the API is "not published".
 */
@Component(service = {Filter.class, EventListenerHook.class, ApiStartingFilter.class}, property = {
        "osgi.http.whiteboard.filter.pattern=/*",
        // before the API's application is published, /api/... reaches the default context; in the API's own
        // context it is ApiStartingFilterInApiContext, not this selecting both: a context that comes makes the HTTP
        // whiteboard take a filter selecting it out of every context and put it back (17 ms, at every boot)
        "osgi.http.whiteboard.context.select=(osgi.http.whiteboard.context.name=default)",
        "osgi.http.whiteboard.filter.name=" + ApiStartingFilter.NAME,
        "osgi.http.whiteboard.filter.asyncSupported=true"})
public class ApiStartingFilter implements Filter, EventListenerHook {

    static final String NAME = "servicefarm-api-starting";
    /** The request attribute that says this filter let the request through ({@link ApiStartingRequestFilter}). */
    static final String LET_THROUGH = ApiStartingFilter.class.getName() + ".letThrough";
    static final long FLUX_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(2);
    static final String RETRY_AFTER_SECONDS = "1";
    static final String REPUBLISHING = "the API is being published again";
    static final long DRAIN_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long DRAIN_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /** What the verdict was reached on: the runtime's change count and whether it is ready. */
    private record Verdict(long changeCount, ApiServing serving) {
    }

    /** A change of the API's services the whiteboard has not taken in while its change count reads this. */
    private record Flux(long changeCount, long untilNanos) {
    }

    private final LongSupplier changeCount;
    private final Supplier<ApiServing> serving;
    private final LongSupplier nanos;
    private volatile Verdict verdict;
    private final AtomicReference<Flux> flux = new AtomicReference<>();
    private final LongAdder inFlight = new LongAdder();
    /** The whiteboard's runtime, absent until the whiteboard starts (this filter may come first at boot). */
    private volatile Runtime runtime;

    /** The whiteboard's runtime service and its reference, whose change count moves with every change. */
    private record Runtime(ServiceReference<JaxrsServiceRuntime> reference, JaxrsServiceRuntime service) {
    }

    /** The Service Component Runtime, which tells the API's resources about to be registered. */
    private volatile ServiceComponentRuntime components;

    @Activate
    public ApiStartingFilter(BundleContext context) {
        this.changeCount = () -> {
            Runtime now = runtime;
            return now == null ? -1 : changeCountOf(now.reference());
        };
        ComingResources coming = new ComingResources(System::nanoTime);
        this.serving = () -> {
            Runtime now = runtime;
            if (now == null) {
                return new ApiServing(false, "the API is not published yet");
            }
            // in this order: what the component runtime expects, what is registered, what the whiteboard serves
            ServiceComponentRuntime scr = components;
            Set<Long> expected = scr == null ? Set.of()
                    : coming.expected(scr, context.getBundle(), (type, filter) -> available(context, type, filter));
            return serving(context, () -> now.service().getRuntimeDTO(), registered -> coming.count(expected,
                    registered));
        };
        this.nanos = System::nanoTime;
    }

    /** For tests: the change count, the verdict and the clock given. */
    ApiStartingFilter(LongSupplier changeCount, Supplier<ApiServing> serving, LongSupplier nanos) {
        this.changeCount = changeCount;
        this.serving = serving;
        this.nanos = nanos;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setRuntime(ServiceReference<JaxrsServiceRuntime> reference, JaxrsServiceRuntime service) {
        runtime = new Runtime(reference, service);
        verdict = null;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void setComponents(ServiceComponentRuntime scr) {
        components = scr;
    }

    void unsetComponents(ServiceComponentRuntime scr) {
        if (components == scr) {
            components = null;
        }
    }

    void unsetRuntime(ServiceReference<JaxrsServiceRuntime> reference) {
        Runtime now = runtime;
        if (now != null && now.reference().equals(reference)) {
            runtime = null;
            verdict = null;
        }
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (!isApi(pathOf((HttpServletRequest) request))) {
            chain.doFilter(request, response);
            return;
        }
        ApiServing now;
        inFlight.increment(); // before the verdict is read: a change waits for this request once it let it pass
        try {
            now = serving();
            if (now.ready()) {
                UnpublishedApiResponse watched = new UnpublishedApiResponse((HttpServletResponse) response);
                request.setAttribute(LET_THROUGH, Boolean.TRUE); // judged once: a change now waits for it instead
                chain.doFilter(request, watched);
                if (!watched.unpublished()) {
                    watched.done();
                    return;
                }
                now = new ApiServing(false, REPUBLISHING);
            }
        } finally {
            inFlight.decrement();
        }
        byte[] problem = Problems.text(problem(now)).getBytes(StandardCharsets.UTF_8);
        HttpServletResponse http = (HttpServletResponse) response;
        http.setStatus(503);
        http.setHeader("Retry-After", RETRY_AFTER_SECONDS);
        http.setContentType(Problems.MEDIA_TYPE);
        http.setContentLength(problem.length);
        http.getOutputStream().write(problem);
    }

    /** The 503 problem for a verdict that is not ready: ask again in {@link #RETRY_AFTER_SECONDS}. */
    static Problems.Problem problem(ApiServing notReady) {
        return Problems.problem("starting", "Service Unavailable", 503,
                notReady.detail() + ": try again in " + RETRY_AFTER_SECONDS + " s", null, null);
    }

    /** Whether the API serves whole now: the last verdict while nothing changed, else a fresh one. */
    ApiServing serving() {
        long count = changeCount.getAsLong();
        Flux pending = flux.get();
        if (pending != null) {
            if (pending.changeCount() == count && nanos.getAsLong() - pending.untilNanos() < 0) {
                return new ApiServing(false, REPUBLISHING);
            }
            flux.compareAndSet(pending, null); // not one a later event put there
        }
        Verdict last = verdict;
        if (last != null && last.changeCount() == count && last.serving().ready()) {
            return last.serving();
        }
        ApiServing fresh = serving.get();
        verdict = new Verdict(count, fresh);
        return fresh;
    }

    @Override
    public void event(ServiceEvent event, Map<BundleContext, Collection<ListenerHook.ListenerInfo>> listeners) {
        if (rebuildsTheApi(event.getServiceReference())) {
            resourceChanging();
        }
    }

    /**
     * Something the API's application is made of comes, goes or changes: in flux until the whiteboard's change count
     * moves. Requests let through before wait no more than {@link #DRAIN_LIMIT_NANOS} to be done first (the
     * whiteboard rebuilds the application once this event is delivered, and a request inside it then was answered
     * CXF's 404 or a 500): this blocks the thread that changes the service, briefly.
     */
    void resourceChanging() {
        flux.set(new Flux(changeCount.getAsLong(), nanos.getAsLong() + FLUX_LIMIT_NANOS));
        long until = System.nanoTime() + DRAIN_LIMIT_NANOS;
        while (inFlight.sum() > 0 && System.nanoTime() - until < 0) {
            LockSupport.parkNanos(DRAIN_PAUSE_NANOS);
        }
    }

    /** Requests inside the API now (let through by this filter and not yet back). */
    long inFlight() {
        return inFlight.sum();
    }

    /**
     * The path the web server matched: its HTTP context's path (the API's application has a context of its own at
     * {@code /api}), the servlet path and the path info, decoded, normalized and without path parameters, so that
     * {@code /api;x=1/v1/vms} and {@code /%61pi/v1/vms}, which reach the API, are told as its paths (the raw request
     * URI is not).
     */
    static String pathOf(HttpServletRequest request) {
        String contextPath = request.getContextPath();
        String servletPath = request.getServletPath();
        String pathInfo = request.getPathInfo();
        return (contextPath == null ? "" : contextPath) + (servletPath == null ? "" : servletPath)
                + (pathInfo == null ? "" : pathInfo);
    }

    static boolean isApi(String path) {
        return path != null && (path.equals("/" + ApiApplication.BASE)
                || path.startsWith("/" + ApiApplication.BASE + "/"));
    }

    /**
     * Whether a change of this service makes the whiteboard rebuild the API's application: a resource of it, an
     * extension that selects applications (the API's select them all), or the application itself.
     */
    static boolean rebuildsTheApi(ServiceReference<?> reference) {
        if (isTrue(reference.getProperty(JaxrsWhiteboardConstants.JAX_RS_RESOURCE))) {
            return isApiResource(reference::getProperty);
        }
        if (isTrue(reference.getProperty(JaxrsWhiteboardConstants.JAX_RS_EXTENSION))) {
            return reference.getProperty(JaxrsWhiteboardConstants.JAX_RS_APPLICATION_SELECT) != null;
        }
        return ApiApplication.NAME.equals(reference.getProperty(JaxrsWhiteboardConstants.JAX_RS_NAME))
                && reference.getProperty(JaxrsWhiteboardConstants.JAX_RS_APPLICATION_BASE) != null;
    }

    /** Whether a service (or a component, by its properties) is a resource of the API's application. */
    static boolean isApiResource(Function<String, Object> property) {
        return isTrue(property.apply(JaxrsWhiteboardConstants.JAX_RS_RESOURCE))
                && ApiApplication.SELECT.equals(property.apply(JaxrsWhiteboardConstants.JAX_RS_APPLICATION_SELECT));
    }

    private static boolean isTrue(Object property) {
        return Boolean.TRUE.equals(property) || "true".equals(property);
    }

    private static long changeCountOf(ServiceReference<?> reference) {
        Object count = reference.getProperty(Constants.SERVICE_CHANGECOUNT);
        return count instanceof Number number ? number.longValue() : -1;
    }

    private static boolean available(BundleContext context, String type, String filter) {
        try {
            return context.getServiceReferences(type, filter) != null;
        } catch (InvalidSyntaxException e) {
            return false; // the runtime took the filter: not ours to judge
        }
    }

    /**
     * The verdict on the whiteboard's DTO, the API's resources registered now and how many are coming.
     *
     * @param runtime the whiteboard's DTO, read after the services registered
     * @param coming  how many are coming, given the component ids of those registered
     */
    private static ApiServing serving(BundleContext context, Supplier<RuntimeDTO> runtime,
                                      ToIntFunction<Set<Long>> coming) {
        Set<Long> registered = new HashSet<>();
        Set<Long> components = new HashSet<>();
        Long requests = null;
        try {
            ServiceReference<?>[] resources = context.getAllServiceReferences(null, "(&("
                    + JaxrsWhiteboardConstants.JAX_RS_RESOURCE + "=true)("
                    + JaxrsWhiteboardConstants.JAX_RS_APPLICATION_SELECT + "="
                    + ApiApplication.SELECT.replace("(", "\\(").replace(")", "\\)") + "))");
            for (ServiceReference<?> resource : resources == null ? new ServiceReference<?>[0] : resources) {
                long id = (Long) resource.getProperty(Constants.SERVICE_ID);
                registered.add(id);
                if (resource.getProperty(ComponentConstants.COMPONENT_ID) instanceof Long component) {
                    components.add(component);
                }
                if (RequestResource.NAME.equals(resource.getProperty(JaxrsWhiteboardConstants.JAX_RS_NAME))) {
                    requests = id;
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException("the filter for the API's resources", e);
        }
        int comingNow = coming.applyAsInt(components);
        return ApiServing.of(runtime.get(), registered, requests, comingNow);
    }
}
