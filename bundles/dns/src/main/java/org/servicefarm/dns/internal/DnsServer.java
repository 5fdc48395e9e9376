package org.servicefarm.dns.internal;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.servicefarm.api.ServiceManager;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.api.frontend.DirectoryFrontEnd;
import org.servicefarm.api.frontend.FrontendName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * The DNS front end: a server on UDP and TCP ({@link DnsConfig#port()}) whose answers come from {@link Answerer}.
 * UDP: one thread receives; each answer is sent by whichever thread completes the request, so a query waiting for a
 * VM holds no thread. TCP (used by resolvers for answers too long for UDP): one thread accepts; a connection's
 * queries are answered in turn on a thread of a small pool (at most 16 connections at once). Restarted on a
 * configuration change.
 */
@Component(service = DirectoryFrontEnd.class, configurationPid = DnsConfig.PID, immediate = true)
@Designate(ocd = DnsConfig.class)
@FrontendName("dns")
public class DnsServer implements DirectoryFrontEnd {

    private static final Logger LOG = LoggerFactory.getLogger(DnsServer.class);
    /** The largest UDP answer without EDNS (RFC 1035); a longer one is cut and flagged truncated. */
    private static final int UDP_MAX = 512;

    private final Answerer answerer;
    private final DatagramChannel udp;
    private final ServerSocket tcp;
    private final ExecutorService connections;
    private final String address;

    /** Free UDP ports tried for one TCP also has free, when any port will do. */
    private static final int MAX_ANY_PORT_ATTEMPTS = 10;

    /** A typo in the zone or the port must not take the front end away: it serves on what it accepted last. */
    private final ConfiguredSettings<DnsConfig, Answerer> configuration;

    @Activate
    public DnsServer(@Reference(name = "manager") ServiceManager manager, DnsConfig given, ComponentContext context)
            throws IOException {
        configuration = new ConfiguredSettings<>(DnsConfig.PID, DnsConfig.class, c -> answerer(manager, c));
        this.answerer = configuration.accept(context, given);
        DnsConfig config = answerer.config();
        // port 0: any free port, the same for both; the one UDP is given may be taken for TCP, so try another
        DatagramChannel boundUdp = null;
        ServerSocket boundTcp = null;
        for (int attempt = 1; boundTcp == null; attempt++) {
            boundUdp = DatagramChannel.open().bind(new InetSocketAddress(config.address(), config.port()));
            ServerSocket socket = new ServerSocket();
            try {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(config.address(),
                        ((InetSocketAddress) boundUdp.getLocalAddress()).getPort()));
                boundTcp = socket;
            } catch (IOException e) {
                socket.close();
                boundUdp.close();
                if (config.port() != 0 || attempt == MAX_ANY_PORT_ATTEMPTS) {
                    throw e;
                }
            }
        }
        udp = boundUdp;
        tcp = boundTcp;
        connections = new ThreadPoolExecutor(0, 16, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> daemon(r, "servicefarm-dns-tcp"), new ThreadPoolExecutor.AbortPolicy());
        address = "dns://" + config.address() + ":" + port() + "/" + answerer.zone();
        daemon(this::receive, "servicefarm-dns-udp").start();
        daemon(this::accept, "servicefarm-dns-accept").start();
        LOG.info("DNS front end answering {} on {} (UDP and TCP)", answerer.zone(), address);
    }

    /** @throws IllegalArgumentException for a zone that is not a DNS name or a port out of range */
    private static Answerer answerer(ServiceManager manager, DnsConfig config) {
        if (config.port() < 0 || config.port() > 65535) {
            throw new IllegalArgumentException("port must be from 1 to 65535 (0: any free port), not " + config.port());
        }
        return new Answerer(manager, config);
    }

    @Deactivate
    void deactivate() throws IOException {
        configuration.close();
        udp.close();
        tcp.close();
        connections.shutdownNow();
    }

    @Override
    public String address() {
        return address;
    }

    int port() {
        return tcp.getLocalPort();
    }

    private void receive() {
        ByteBuffer buffer = ByteBuffer.allocate(UDP_MAX * 2);
        while (udp.isOpen()) {
            try {
                buffer.clear();
                SocketAddress client = udp.receive(buffer);
                byte[] wire = new byte[buffer.position()];
                buffer.flip();
                buffer.get(wire);
                Message query;
                try {
                    query = new Message(wire);
                } catch (IOException e) {
                    byte[] formatError = formatError(wire);
                    if (formatError != null) {
                        udp.send(ByteBuffer.wrap(formatError), client);
                    }
                    continue;
                }
                InetAddress from = client instanceof InetSocketAddress socket ? socket.getAddress() : null;
                answerer.answer(query, from).whenComplete((response, failure) -> send(client, query, response, failure));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException e) {
                LOG.warn("DNS over UDP: {}", e.toString());
            }
        }
    }

    private void send(SocketAddress client, Message query, Message response, Throwable failure) {
        try {
            udp.send(ByteBuffer.wrap(wire(query, response, failure, UDP_MAX)), client);
        } catch (IOException e) {
            LOG.debug("DNS answer to {} not sent: {}", client, e.toString());
        }
    }

    private void accept() {
        while (!tcp.isClosed()) {
            try {
                Socket socket = tcp.accept();
                try {
                    connections.execute(() -> serve(socket));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    socket.close(); // too many connections at once: the client retries
                }
            } catch (IOException e) {
                if (!tcp.isClosed()) {
                    LOG.warn("DNS over TCP: {}", e.toString());
                }
            }
        }
    }

    /** Reads length-prefixed queries (RFC 1035 4.2.2) and writes each answer when it completes. */
    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            while (true) {
                int length;
                try {
                    length = in.readUnsignedShort();
                } catch (IOException e) {
                    return; // closed or idle
                }
                byte[] wire = in.readNBytes(length);
                Message query;
                try {
                    query = new Message(wire);
                } catch (IOException e) {
                    byte[] formatError = formatError(wire);
                    if (formatError == null) {
                        return; // no query's header: nothing to answer on this connection
                    }
                    writeFramed(out, formatError);
                    continue;
                }
                // the answer is awaited here: a TCP client sends its next query only after it
                Message response;
                Throwable failure = null;
                try {
                    response = answerer.answer(query, socket.getInetAddress()).toCompletableFuture().get();
                } catch (Exception e) {
                    response = null;
                    failure = e;
                }
                writeFramed(out, wire(query, response, failure, 65535));
            }
        } catch (IOException e) {
            LOG.debug("DNS over TCP: {}", e.toString());
        }
    }

    /** Writes one message on a TCP connection, after its length (RFC 1035 4.2.2). */
    private static void writeFramed(DataOutputStream out, byte[] message) throws IOException {
        synchronized (out) {
            out.writeShort(message.length);
            out.write(message);
            out.flush();
        }
    }

    /** The length of a DNS message's header (RFC 1035 4.1.1). */
    private static final int HEADER_LENGTH = 12;

    /**
     * The answer to a message that no DNS query can be read from: FORMERR (RFC 1035 4.1.1) with its id, opcode and RD
     * flag, as a resolver then gives up instead of retrying; null, to answer nothing, for anything shorter than a
     * header or flagged as a response (answering answers would let two servers bounce garbage between them).
     */
    static byte[] formatError(byte[] wire) {
        if (wire.length < HEADER_LENGTH || (wire[2] & 0x80) != 0) {
            return null;
        }
        Message error = new Message(((wire[0] & 0xff) << 8) | (wire[1] & 0xff));
        error.getHeader().setFlag(Flags.QR);
        if ((wire[2] & 0x01) != 0) {
            error.getHeader().setFlag(Flags.RD);
        }
        error.getHeader().setOpcode((wire[2] >> 3) & 0x0f);
        error.getHeader().setRcode(Rcode.FORMERR);
        return error.toWire();
    }

    private static byte[] wire(Message query, Message response, Throwable failure, int max) {
        if (failure != null || response == null) {
            LOG.warn("DNS answer failed: {}", failure == null ? "no answer" : failure.toString());
            Message servfail = new Message(query.getHeader().getID());
            servfail.getHeader().setFlag(Flags.QR);
            servfail.getHeader().setRcode(Rcode.SERVFAIL);
            return servfail.toWire();
        }
        return response.toWire(max);
    }

    private static Thread daemon(Runnable task, String name) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        return thread;
    }
}
