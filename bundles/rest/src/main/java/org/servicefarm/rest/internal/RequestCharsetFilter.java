package org.servicefarm.rest.internal;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;

import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletResponse;

import org.osgi.service.component.annotations.Component;
import org.servicefarm.api.Names;

/**
 * Refuses a request whose body declares a character set this JVM does not know (e.g. {@code Content-Type:
 * application/json; charset=latin-1}) with a 415 problem, before CXF reads it: CXF throws on such a request before any
 * JAX-RS filter or mapper runs, and Jetty answers 500 with CXF's exception chain as its page (HTML, or JSON to a JSON
 * client), and logs two WARN lines for each. A servlet filter of the HTTP whiteboard, so it stands in front of every
 * servlet, the JAX-RS whiteboard's among them; it sees nothing else of a request.
 */
@Component(service = Filter.class, property = {
        "osgi.http.whiteboard.filter.pattern=/*",
        // every context: the JAX-RS whiteboard serves the API's application (ApiApplication) in a context of its own
        "osgi.http.whiteboard.context.select=(osgi.http.whiteboard.context.name=*)",
        "osgi.http.whiteboard.filter.name=servicefarm-request-charset",
        // POST /api/v1/requests answers asynchronously: every filter in front of it must allow that
        "osgi.http.whiteboard.filter.asyncSupported=true"})
public class RequestCharsetFilter implements Filter {

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        String charset = request.getCharacterEncoding();
        if (charset == null || known(charset)) {
            chain.doFilter(request, response);
            return;
        }
        byte[] problem = Problems.text(Problems.status(415, "Unsupported Media Type", "the body's charset '"
                + Names.excerpt(charset) + "' is not one this server reads: send JSON in UTF-8"))
                .getBytes(StandardCharsets.UTF_8);
        HttpServletResponse http = (HttpServletResponse) response;
        http.setStatus(415);
        http.setContentType(Problems.MEDIA_TYPE);
        http.setContentLength(problem.length);
        http.getOutputStream().write(problem);
    }

    /** Whether the JVM reads {@code charset} (quoted or not), as CXF asks it. */
    static boolean known(String charset) {
        String name = charset.trim();
        if (name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")) {
            name = name.substring(1, name.length() - 1);
        }
        try {
            return !name.isEmpty() && Charset.isSupported(name);
        } catch (IllegalCharsetNameException e) {
            return false;
        }
    }
}
