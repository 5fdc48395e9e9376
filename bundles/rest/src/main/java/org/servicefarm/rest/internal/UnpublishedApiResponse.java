package org.servicefarm.rest.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.Locale;

import javax.servlet.ServletOutputStream;
import javax.servlet.WriteListener;
import javax.servlet.http.HttpServletResponse;
import javax.servlet.http.HttpServletResponseWrapper;

/**
 * The response an API request is let through with, which tells CXF's own "No service was found" page from every
 * answer of the API. CXF's servlet writes that page (status 404, then content type {@code text/html}, then the body)
 * when no endpoint is published at the path, and the JAX-RS whiteboard leaves none for a moment every time it
 * re-creates the API's endpoint for a resource or extension that came (Aries' {@code CxfJaxrsServiceRegistrator}
 * destroys the CXF server and creates a new one), after its runtime DTO already lists the resource as served: at
 * boot, nothing else tells that moment apart. The API's resources never answer HTML (their 404s are problems), so a
 * 404 whose next step is an HTML content type is that page: it is held back here, and {@link ApiStartingFilter}
 * answers "starting" in its place.
 * <p>
 * A 404 is held only until the response's content type is set, or something would send it; anything but an HTML
 * content type passes it on first, so the API's own answers go out unchanged.
 */
final class UnpublishedApiResponse extends HttpServletResponseWrapper {

    private static final int NOT_FOUND = 404;

    /** A 404 set and not passed on yet. */
    private boolean held;
    /** CXF's page: swallowed whole. */
    private boolean unpublished;

    UnpublishedApiResponse(HttpServletResponse response) {
        super(response);
    }

    /** Whether CXF answered that no endpoint is published (nothing of it was sent). */
    boolean unpublished() {
        return unpublished;
    }

    /** The request is done here (or went on asynchronously): a 404 still held is the answer's. */
    void done() {
        pass();
    }

    private void pass() {
        if (held) {
            held = false;
            super.setStatus(NOT_FOUND);
        }
    }

    @Override
    public void setStatus(int status) {
        if (unpublished) {
            return;
        }
        pass();
        if (status == NOT_FOUND && !isCommitted()) {
            held = true;
            return;
        }
        super.setStatus(status);
    }

    @Override
    @SuppressWarnings("deprecation")
    public void setStatus(int status, String message) {
        if (!unpublished) {
            pass();
            super.setStatus(status, message);
        }
    }

    @Override
    public int getStatus() {
        return held || unpublished ? NOT_FOUND : super.getStatus();
    }

    @Override
    public void setContentType(String type) {
        if (unpublished) {
            return;
        }
        if (held && type != null && type.toLowerCase(Locale.ROOT).startsWith("text/html")) {
            held = false;
            unpublished = true;
            return;
        }
        pass();
        super.setContentType(type);
    }

    @Override
    public PrintWriter getWriter() throws IOException {
        if (unpublished) {
            return new PrintWriter(OutputStream.nullOutputStream());
        }
        pass();
        return super.getWriter();
    }

    @Override
    public ServletOutputStream getOutputStream() throws IOException {
        if (unpublished) {
            return new ServletOutputStream() {
                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setWriteListener(WriteListener listener) {
                    throw new IllegalStateException("not asynchronous");
                }

                @Override
                public void write(int b) {
                    // CXF's page is dropped
                }
            };
        }
        pass();
        return super.getOutputStream();
    }

    // ---- what sends or commits passes a held 404 on first, and does nothing to CXF's page; a header set meanwhile
    // goes on as it is (nothing is sent before one of these)

    @Override
    public void sendError(int status, String message) throws IOException {
        if (!unpublished) {
            pass();
            super.sendError(status, message);
        }
    }

    @Override
    public void sendError(int status) throws IOException {
        if (!unpublished) {
            pass();
            super.sendError(status);
        }
    }

    @Override
    public void sendRedirect(String location) throws IOException {
        if (!unpublished) {
            pass();
            super.sendRedirect(location);
        }
    }

    @Override
    public void flushBuffer() throws IOException {
        if (!unpublished) {
            pass();
            super.flushBuffer();
        }
    }

    @Override
    public void reset() {
        held = false;
        unpublished = false;
        super.reset();
    }

    @Override
    public void resetBuffer() {
        if (!unpublished) {
            super.resetBuffer();
        }
    }
}
