package org.servicefarm.driver.qemu.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A QMP server on a Unix-domain socket that answers as QEMU does, for tests: a greeting, then one
 * reply per command as the responder decides (an empty list: no reply). Serves one client at a time,
 * like QEMU's monitor.
 */
final class FakeQmpServer implements AutoCloseable {

    static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7},"
            + " \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}";

    private final ServerSocketChannel server;
    private final Function<Map<String, Object>, List<String>> responder;
    private final Thread thread;
    private final List<Map<String, Object>> received = new CopyOnWriteArrayList<>();
    private volatile SocketChannel client;
    private volatile boolean greet = true;

    FakeQmpServer(Path socket, Function<Map<String, Object>, List<String>> responder) throws IOException {
        Files.deleteIfExists(socket);
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        this.responder = responder;
        this.thread = new Thread(this::serve, "fake-qmp");
        thread.setDaemon(true);
        thread.start();
    }

    /** A responder that answers {@code {"return": {}}} to everything, echoing the id. */
    static List<String> ok(Map<String, Object> command) {
        return List.of(reply(command, "{}"));
    }

    static String reply(Map<String, Object> command, String returnJson) {
        return "{\"return\": " + returnJson + ", \"id\": " + Json.write(command.get("id")) + "}";
    }

    static String error(Map<String, Object> command, String cls, String desc) {
        return "{\"id\": " + Json.write(command.get("id")) + ", \"error\": {\"class\": \"" + cls + "\", \"desc\": \"" + desc
                + "\"}}";
    }

    static String event(String name, String dataJson) {
        return "{\"timestamp\": {\"seconds\": 1795650000, \"microseconds\": 123456}, \"event\": \"" + name + "\""
                + (dataJson == null ? "" : ", \"data\": " + dataJson) + "}";
    }

    /** Whether the next client gets a greeting (a monitor busy with another client sends none). */
    void greet(boolean yes) {
        greet = yes;
    }

    /** The commands received, in order. */
    List<Map<String, Object>> received() {
        return received;
    }

    /** Sends a raw line to the connected client (an event, a late reply, garbage). */
    void send(String line) throws IOException {
        SocketChannel c = client;
        if (c == null) {
            throw new IOException("no client");
        }
        ByteBuffer b = ByteBuffer.wrap((line + "\r\n").getBytes(StandardCharsets.UTF_8));
        synchronized (this) {
            while (b.hasRemaining()) {
                c.write(b);
            }
        }
    }

    /** Drops the client's connection, as a QEMU that died. */
    void dropClient() throws IOException {
        SocketChannel c = client;
        if (c != null) {
            c.close();
        }
    }

    private void serve() {
        try {
            while (server.isOpen()) {
                SocketChannel c = server.accept();
                client = c;
                try {
                    if (greet) {
                        send(GREETING);
                    }
                    ByteBuffer buf = ByteBuffer.allocate(4096);
                    ByteArrayOutputStream line = new ByteArrayOutputStream();
                    while (c.read(buf.clear()) >= 0) {
                        buf.flip();
                        while (buf.hasRemaining()) {
                            byte b = buf.get();
                            if (b == '\n') {
                                Map<String, Object> cmd = Json.parseObject(line.toString(StandardCharsets.UTF_8));
                                line.reset();
                                received.add(cmd);
                                for (String out : responder.apply(cmd)) {
                                    send(out);
                                }
                            } else {
                                line.write(b);
                            }
                        }
                    }
                } catch (IOException e) {
                    // client gone
                } finally {
                    c.close();
                }
            }
        } catch (IOException e) {
            // server closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        dropClient();
    }
}
