package org.servicefarm.rest.internal;

import java.io.IOException;

import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@link ApiStartingFilter} in the HTTP context the whiteboard makes for the API's application, which comes with the
 * application, once published. A registration of its own, so that the context coming or going does not take the
 * filter out of the default context, where {@code /api/...} arrives before (the HTTP whiteboard re-registers a
 * filter in every context it selects when one of them comes: for 17 ms at each boot requests to {@code /api} got the
 * web server's own 404, 2-9 of them in boots watched by 6 clients asking every 10 ms).
 */
@Component(service = Filter.class, property = {
        "osgi.http.whiteboard.filter.pattern=/*",
        "osgi.http.whiteboard.context.select=(osgi.http.whiteboard.context.name=" + ApiApplication.HTTP_CONTEXT + ")",
        "osgi.http.whiteboard.filter.name=" + ApiStartingFilter.NAME + "-in-api-context",
        "osgi.http.whiteboard.filter.asyncSupported=true"})
public class ApiStartingFilterInApiContext implements Filter {

    private final ApiStartingFilter starting;

    @Activate
    public ApiStartingFilterInApiContext(@Reference ApiStartingFilter starting) {
        this.starting = starting;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        starting.doFilter(request, response, chain);
    }
}
