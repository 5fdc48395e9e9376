package org.servicefarm.driver.qemu.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Asks a guest's forwarded port for a page, the way a client would: a fresh connection per attempt,
 * HTTP/1.0, short timeouts. QEMU's user-mode network accepts the host side of a forwarded connection
 * at once and holds it until the guest answers, so each attempt needs its own read timeout, or a
 * patient first attempt would hide when the guest started answering.
 */
public final class HttpProbe {

    /** One response: its status code (or -1 when there was none), headers and body as text. */
    public record Response(int status, String head, String body) {
    }

    private HttpProbe() {
    }

    /** GETs {@code path}; status -1 when the connection failed or no status line came within {@code timeout}. */
    public static Response get(String host, int port, String path, Duration timeout) {
        try (Socket socket = new Socket()) {
            int millis = (int) Math.max(1, timeout.toMillis());
            socket.connect(new InetSocketAddress(host, port), millis);
            socket.setSoTimeout(millis);
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int n;
            while (buf.size() < 1 << 20 && (n = in.read(chunk)) > 0) {
                buf.write(chunk, 0, n);
            }
            String text = buf.toString(StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            String head = end < 0 ? text : text.substring(0, end);
            String body = end < 0 ? "" : text.substring(end + 4);
            return new Response(status(head), head, body);
        } catch (IOException e) {
            return new Response(-1, "", "");
        }
    }

    /**
     * Polls until GET {@code path} answers 200 and returns the nanoseconds waited.
     *
     * @param attempt how long one attempt may wait for the status line
     * @param pause   the pause between failed attempts
     * @throws IOException when no 200 came within {@code deadline}
     */
    public static long awaitOk(String host, int port, String path, Duration deadline, Duration attempt, Duration pause)
            throws IOException {
        long start = System.nanoTime();
        long end = start + deadline.toNanos();
        int last = -1;
        while (true) {
            Response r = get(host, port, path, attempt);
            if (r.status() == 200) {
                return System.nanoTime() - start;
            }
            last = r.status();
            if (System.nanoTime() > end) {
                throw new IOException("no HTTP 200 from " + host + ":" + port + path + " within " + deadline.toMillis()
                        + " ms (last status " + last + ")");
            }
            try {
                Thread.sleep(pause.toMillis(), (int) (pause.toNanos() % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted waiting for " + host + ":" + port, e);
            }
        }
    }

    private static int status(String head) {
        // "HTTP/1.1 200 OK"
        if (!head.startsWith("HTTP/")) {
            return -1;
        }
        int sp = head.indexOf(' ');
        if (sp < 0 || head.length() < sp + 4) {
            return -1;
        }
        try {
            return Integer.parseInt(head.substring(sp + 1, sp + 4));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
