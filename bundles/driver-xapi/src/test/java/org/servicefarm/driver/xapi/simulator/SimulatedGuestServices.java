package org.servicefarm.driver.xapi.simulator;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a simulated guest's own servers do: while the VM runs, an HTTP/1.1 listener on each of its addresses and
 * service ports answers {@code GET /} with a page naming the VM; otherwise nothing listens (connections refused).
 * One thread per listener, answering one connection at a time: a few guests, a few probes.
 */
final class SimulatedGuestServices implements AutoCloseable {

    static final String SERVER = "xapi-simulated-guest";
    private static final Logger LOG = LoggerFactory.getLogger(SimulatedGuestServices.class);
    private static final int READ_TIMEOUT_MS = 2000;

    private final Map<String, List<ServerSocket>> listening = new HashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private boolean closed;

    /** Listens for VM {@code vm} (replacing what it listened on); a port that cannot be bound is left out. */
    synchronized void listen(String vm, List<String> addresses, List<Integer> ports, String page) {
        silence(vm);
        if (closed) {
            return;
        }
        List<ServerSocket> servers = new ArrayList<>();
        for (String address : addresses) {
            for (int port : ports) {
                try {
                    ServerSocket server = new ServerSocket();
                    server.setReuseAddress(true);
                    server.bind(new InetSocketAddress(address, port));
                    servers.add(server);
                    Thread thread = new Thread(() -> serve(server, page.getBytes(UTF_8)),
                            SERVER + "-" + address + ":" + port);
                    thread.setDaemon(true);
                    thread.start();
                    threads.add(thread);
                } catch (IOException e) {
                    LOG.warn("simulated guest {} cannot listen on {}:{}: {}", vm, address, port, e.toString());
                }
            }
        }
        listening.put(vm, servers);
    }

    synchronized void silence(String vm) {
        for (ServerSocket server : listening.getOrDefault(vm, List.of())) {
            try {
                server.close();
            } catch (IOException e) {
                LOG.debug("closing a simulated guest's listener: {}", e.toString());
            }
        }
        listening.remove(vm);
        threads.removeIf(thread -> !thread.isAlive());
    }

    /** Stops every listener and waits for their threads (one answering a connection ends within its timeout). */
    @Override
    public void close() {
        List<Thread> ending;
        synchronized (this) {
            closed = true;
            List.copyOf(listening.keySet()).forEach(this::silence);
            ending = List.copyOf(threads);
        }
        for (Thread thread : ending) {
            try {
                thread.join(READ_TIMEOUT_MS + 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void serve(ServerSocket server, byte[] page) {
        while (!server.isClosed()) {
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(READ_TIMEOUT_MS);
                answer(socket, page);
            } catch (IOException e) {
                // the listener closed (the VM stopped running), or a client went away: nothing to answer
            }
        }
    }

    private static void answer(Socket socket, byte[] page) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), ISO_8859_1));
        String[] request = String.valueOf(in.readLine()).split(" ");
        for (String header = in.readLine(); header != null && !header.isEmpty(); header = in.readLine()) {
            // the headers: read, not needed
        }
        boolean root = request.length == 3 && request[0].equals("GET") && request[1].equals("/");
        byte[] body = root ? page : "not found\n".getBytes(UTF_8);
        String head = "HTTP/1.1 " + (root ? "200 OK" : "404 Not Found") + "\r\nServer: " + SERVER
                + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        OutputStream out = socket.getOutputStream();
        out.write(head.getBytes(ISO_8859_1));
        out.write(body);
        out.flush();
    }
}
