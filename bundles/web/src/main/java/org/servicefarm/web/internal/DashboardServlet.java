package org.servicefarm.web.internal;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.osgi.service.component.annotations.Component;

/**
 * The dashboard's page at {@code /dashboard/}: three static files from this bundle. They hold no farm data (that
 * comes by {@code /events}, after the login the page asks for), so they are served to anyone. The page never
 * writes a name as HTML; the Content-Security-Policy forbids inline and foreign scripts as a second wall.
 */
@Component(service = Servlet.class, property = {
        "osgi.http.whiteboard.servlet.pattern=/dashboard/*",
        "osgi.http.whiteboard.servlet.name=servicefarm-dashboard"})
public class DashboardServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    static final Map<String, String> FILES = Map.of(
            "/", "text/html; charset=utf-8",
            "/dashboard.js", "text/javascript; charset=utf-8",
            "/dashboard.css", "text/css; charset=utf-8");

    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String path = request.getPathInfo() == null ? "" : request.getPathInfo();
        if (path.isEmpty()) {
            response.sendRedirect(request.getRequestURI() + "/");
            return;
        }
        String type = FILES.get(path);
        if (type == null) {
            response.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        String resource = "/dashboard" + (path.equals("/") ? "/index.html" : path);
        try (InputStream in = DashboardServlet.class.getResourceAsStream(resource)) {
            if (in == null) {
                response.sendError(HttpServletResponse.SC_NOT_FOUND);
                return;
            }
            response.setContentType(type);
            response.setHeader("Content-Security-Policy", CSP);
            response.setHeader("X-Content-Type-Options", "nosniff");
            response.setHeader("Cache-Control", "no-cache");
            in.transferTo(response.getOutputStream());
        }
    }
}
