package org.servicefarm.driver.libvirt.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The services of test-driver guests, answering for real. libvirt's test driver runs no guest, so the driver serves
 * each simulated guest's endpoints itself: a listener on each of the guest's ports that answers {@code GET /} with a
 * short page naming the guest, but only while the guest {@link Listener#answerFrom answers} (booted, not suspended,
 * saved or destroyed); otherwise a connection is closed at once, unanswered. So the core probes test-driver guests
 * the way it probes real ones.
 * <p>
 * One thread serves every listener of the driver, with non-blocking sockets; no thread per guest.
 */
final class SimulatedGuests implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SimulatedGuests.class);
    static final String SERVER = "servicefarm-simulated-guest";
    private static final int REQUEST_LIMIT = 8192;
    private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** While a guest does not answer. */
    private static final long SILENT = Long.MAX_VALUE;

    private final Selector selector;
    private final Thread thread;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    SimulatedGuests() {
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector for simulated guests", e);
        }
        thread = new Thread(this::run, "servicefarm-simulated-guests");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Listens on {@code address}, silent until told to answer.
     *
     * @param page the text {@code GET /} answers
     * @throws IOException when the address cannot be bound (something on this machine holds it)
     */
    Listener listen(InetSocketAddress address, String page) throws IOException {
        if (closed) {
            throw new IOException("simulated guests are stopped");
        }
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(address, 64);
            server.configureBlocking(false);
        } catch (IOException e) {
            server.close();
            throw e;
        }
        Listener listener = new Listener(server, page);
        onLoop(() -> server.register(selector, SelectionKey.OP_ACCEPT, listener));
        return listener;
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One port of one simulated guest. */
    final class Listener implements AutoCloseable {
        private final ServerSocketChannel server;
        private final byte[] page;
        private volatile long answeringFrom = SILENT;

        private Listener(ServerSocketChannel server, String page) {
            this.server = server;
            this.page = page.getBytes(StandardCharsets.UTF_8);
        }

        /** Answers from {@code nanoTime} on (a boot in progress answers once it is over). */
        void answerFrom(long nanoTime) {
            answeringFrom = nanoTime;
        }

        void silence() {
            answeringFrom = SILENT;
        }

        boolean answering() {
            long from = answeringFrom;
            return from != SILENT && System.nanoTime() - from >= 0;
        }

        int port() {
            return server.socket().getLocalPort();
        }

        /** Stops listening; the port is free again when this returns. */
        @Override
        public void close() {
            silence();
            if (!thread.isAlive()) {
                closeQuietly(server);
                return;
            }
            // A registered channel releases its port only once its key is flushed: on the loop, which then selects.
            // Connections accepted on it still hold the port (a guest destroyed drops them too).
            onLoop(() -> {
                SelectionKey key = server.keyFor(selector);
                if (key != null) {
                    key.cancel();
                }
                server.close();
                for (SelectionKey other : List.copyOf(selector.keys())) {
                    if (other.attachment() instanceof Exchange exchange && exchange.listener == this) {
                        closeQuietly(other.channel());
                    }
                }
                selector.selectNow();
            });
        }
    }

    /** Runs {@code task} on the serving thread and waits for it (or runs it here once the thread is gone). */
    private void onLoop(IoTask task) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                task.run();
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        selector.wakeup();
        try {
            done.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            LOG.warn("a simulated guest's listener failed: {}", e.getCause().toString());
        } catch (TimeoutException e) {
            LOG.warn("the simulated guests' thread did not answer within 5 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @FunctionalInterface
    private interface IoTask {
        void run() throws IOException;
    }

    private void run() {
        try {
            while (!closed) {
                selector.select(1000);
                for (Runnable task; (task = tasks.poll()) != null; ) {
                    task.run();
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    if (key.isValid()) {
                        if (key.attachment() instanceof Listener listener) {
                            accept(listener);
                        } else {
                            serve(key, (Exchange) key.attachment());
                        }
                    }
                }
                selector.selectedKeys().clear();
                closeIdle();
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("simulated guests stopped answering: {}", e.toString(), e);
        } finally {
            closed = true;
            for (SelectionKey key : List.copyOf(selector.keys())) {
                closeQuietly(key.channel());
            }
            try {
                selector.close();
            } catch (IOException e) {
                LOG.debug("closing the simulated guests' selector failed", e);
            }
            for (Runnable task; (task = tasks.poll()) != null; ) {
                task.run(); // closes still asked for complete, on a closed selector
            }
        }
    }

    private void accept(Listener listener) throws IOException {
        SocketChannel client;
        while ((client = listener.server.accept()) != null) {
            if (!listener.answering()) {
                closeQuietly(client); // booting, suspended or saved: nothing answers
                continue;
            }
            client.configureBlocking(false);
            client.register(selector, SelectionKey.OP_READ, new Exchange(listener));
        }
    }

    private void serve(SelectionKey key, Exchange exchange) {
        SocketChannel client = (SocketChannel) key.channel();
        try {
            if (key.isReadable()) {
                int read = client.read(exchange.request);
                String request = new String(exchange.request.array(), 0, exchange.request.position(),
                        StandardCharsets.ISO_8859_1);
                if (read < 0 || !exchange.listener.answering()) {
                    closeQuietly(client);
                    return;
                }
                if (request.contains("\r\n\r\n") || request.contains("\n\n") || !exchange.request.hasRemaining()) {
                    exchange.response = ByteBuffer.wrap(response(request, exchange.listener.page));
                    key.interestOps(SelectionKey.OP_WRITE);
                }
            }
            if (key.isValid() && key.isWritable()) {
                client.write(exchange.response);
                if (!exchange.response.hasRemaining()) {
                    closeQuietly(client);
                }
            }
        } catch (IOException e) {
            closeQuietly(client);
        }
    }

    /** The answer to a request: the page for {@code GET /} (and its headers for {@code HEAD /}), else an error. */
    static byte[] response(String request, byte[] page) {
        int lineEnd = request.indexOf('\n');
        String[] line = (lineEnd < 0 ? request : request.substring(0, lineEnd)).trim().split(" ");
        String method = line[0];
        String path = line.length > 1 ? line[1] : "";
        String status;
        byte[] body;
        String extra = "";
        if (!method.equals("GET") && !method.equals("HEAD")) {
            status = "405 Method Not Allowed";
            body = "only GET and HEAD\n".getBytes(StandardCharsets.US_ASCII);
            extra = "Allow: GET, HEAD\r\n";
        } else if (!path.equals("/")) {
            status = "404 Not Found";
            body = "only / is served\n".getBytes(StandardCharsets.US_ASCII);
        } else {
            status = "200 OK";
            body = page;
        }
        byte[] head = ("HTTP/1.1 " + status + "\r\nServer: " + SERVER + "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "X-Content-Type-Options: nosniff\r\n" + extra + "Content-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        if (method.equals("HEAD")) {
            return head;
        }
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /** A client that sends nothing holds nothing for long. */
    private void closeIdle() {
        long now = System.nanoTime();
        for (SelectionKey key : List.copyOf(selector.keys())) {
            if (key.isValid() && key.attachment() instanceof Exchange exchange && now - exchange.since > IDLE_NANOS) {
                closeQuietly(key.channel());
            }
        }
    }

    private static void closeQuietly(java.nio.channels.Channel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing a simulated guest's connection failed", e);
        }
    }

    /** One client connection to a simulated guest. */
    private static final class Exchange {
        final Listener listener;
        final long since = System.nanoTime();
        final ByteBuffer request = ByteBuffer.allocate(REQUEST_LIMIT);
        ByteBuffer response;

        Exchange(Listener listener) {
            this.listener = listener;
        }
    }
}
