package org.servicefarm.driver.qemu.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A client of one QEMU's QMP monitor over a Unix-domain socket ({@code -qmp unix:PATH,server=on,wait=off}).
 *
 * <p>One reader thread per connection reads newline-delimited JSON: the greeting, replies (matched to
 * their command by the {@code id} every command carries) and events, which go to the listeners and to
 * {@link EventWatch}es. Commands may be issued from any thread; each waits for its own reply with its
 * own timeout. When QEMU quits or dies the socket reaches end-of-file: every waiting command fails with
 * {@link QmpException.Kind#CLOSED}, {@link #closed()} completes, and later commands fail at once.
 *
 * <p>Listeners run on the reader thread: they must return quickly and must not issue commands and
 * wait for their replies (the reply would be read by the very thread that waits). Use an
 * {@link EventWatch} to wait for an event.
 *
 * <p>QEMU serves one QMP client per {@code -qmp} socket at a time; a second client is accepted
 * only when the first one closes, so {@link #connect} of a busy monitor ends in a greeting timeout.
 */
public final class QmpClient implements AutoCloseable {

    /** The time a command may take unless told otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** The longest line accepted from QEMU; QMP replies are far smaller. */
    static final int MAX_LINE = 8 * 1024 * 1024;

    private static final System.Logger LOG = System.getLogger(QmpClient.class.getName());

    private final String label;
    private final SocketChannel channel;
    private final Object writeLock = new Object();
    private final AtomicLong ids = new AtomicLong();
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final List<Consumer<QmpEvent>> listeners = new CopyOnWriteArrayList<>();
    private final List<EventWatch> watches = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Map<String, Object>> greeting = new CompletableFuture<>();
    private final CompletableFuture<String> closed = new CompletableFuture<>();
    private final Thread reader;
    private volatile boolean open = true;

    private record Pending(String command, CompletableFuture<Object> reply) {
    }

    private QmpClient(String label, SocketChannel channel) {
        this.label = label;
        this.channel = channel;
        this.reader = new Thread(this::readLoop, "qmp-" + label);
        this.reader.setDaemon(true);
    }

    /**
     * Connects to the monitor at {@code socket}, reads the greeting and leaves capabilities
     * negotiation mode ({@code qmp_capabilities}). A socket that does not exist yet or refuses is tried
     * again until {@code timeout}.
     *
     * @param listener receives every event (may be {@code null}); added before the first byte is read
     */
    public static QmpClient connect(Path socket, Duration timeout, Consumer<QmpEvent> listener) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(socket);
        SocketChannel channel;
        while (true) {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(address);
                break;
            } catch (IOException e) {
                channel.close();
                if (System.nanoTime() > deadline) {
                    throw new QmpException(QmpException.Kind.CLOSED, null, "cannot connect to QMP socket " + socket
                            + " within " + timeout.toMillis() + " ms: " + e.getMessage(), e);
                }
                sleep(Files.exists(socket) ? 2 : 5);
            }
        }
        QmpClient client = new QmpClient(socket.getFileName().toString(), channel);
        if (listener != null) {
            client.listeners.add(listener);
        }
        client.reader.start();
        try {
            client.greeting.get(remaining(deadline), TimeUnit.NANOSECONDS);
            client.execute("qmp_capabilities", null, Duration.ofNanos(Math.max(remaining(deadline), 1_000_000)));
            return client;
        } catch (TimeoutException e) {
            client.close();
            throw new QmpException(QmpException.Kind.TIMEOUT, null, "no QMP greeting on " + socket + " within "
                    + timeout.toMillis() + " ms (another client connected?)", e);
        } catch (ExecutionException e) {
            client.close();
            throw asQmp(e.getCause(), null);
        } catch (InterruptedException e) {
            client.close();
            Thread.currentThread().interrupt();
            throw new QmpException(QmpException.Kind.CLOSED, null, "interrupted while connecting", e);
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** The greeting QEMU sent ({@code {"QMP": {"version": ..., "capabilities": [...]}}}). */
    public Map<String, Object> greeting() {
        return greeting.getNow(Map.of());
    }

    /** Adds a listener for every later event; it runs on the reader thread. */
    public void addListener(Consumer<QmpEvent> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<QmpEvent> listener) {
        listeners.remove(listener);
    }

    /** True until the connection closes. */
    public boolean isOpen() {
        return open;
    }

    /** Completes (with the reason) when the connection has closed, for whatever cause. */
    public CompletableFuture<String> closed() {
        return closed;
    }

    /** Runs {@code command} with {@link #DEFAULT_TIMEOUT}; returns the {@code return} member. */
    public Object execute(String command, Map<String, ?> arguments) throws QmpException {
        return execute(command, arguments, DEFAULT_TIMEOUT);
    }

    /**
     * Runs {@code command} and waits for its reply.
     *
     * @return the {@code return} member of the reply: an object (a {@link Map}) for most commands,
     *         a list for some queries, a string for {@code human-monitor-command}
     * @throws QmpException QEMU's error ({@link QmpException.Kind#ERROR}), no reply within {@code timeout}
     *         ({@link QmpException.Kind#TIMEOUT}) or a connection that closed ({@link QmpException.Kind#CLOSED})
     */
    public Object execute(String command, Map<String, ?> arguments, Duration timeout) throws QmpException {
        CompletableFuture<Object> reply = submit(command, arguments);
        try {
            return reply.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.values().removeIf(p -> p.reply() == reply);
            throw new QmpException(QmpException.Kind.TIMEOUT, command, "QMP " + command + " on " + label
                    + ": no reply within " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw asQmp(e.getCause(), command);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.values().removeIf(p -> p.reply() == reply);
            throw new QmpException(QmpException.Kind.CLOSED, command, "interrupted waiting for " + command, e);
        }
    }

    /** Like {@link #execute(String, Map)} for commands that return an object. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> executeObject(String command, Map<String, ?> arguments, Duration timeout)
            throws QmpException {
        Object value = execute(command, arguments, timeout);
        if (value instanceof Map) {
            return (Map<String, Object>) value;
        }
        throw new QmpException(QmpException.Kind.PROTOCOL, command, "QMP " + command + " returned "
                + (value == null ? "null" : value.getClass().getSimpleName()) + ", not an object", (Throwable) null);
    }

    /** Sends {@code command} without waiting: the future completes with the {@code return} member. */
    public CompletableFuture<Object> submit(String command, Map<String, ?> arguments) {
        CompletableFuture<Object> reply = new CompletableFuture<>();
        if (!open) {
            reply.completeExceptionally(closedException(command));
            return reply;
        }
        String id = "sf-" + ids.incrementAndGet();
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("execute", command);
        if (arguments != null && !arguments.isEmpty()) {
            message.put("arguments", arguments);
        }
        message.put("id", id);
        pending.put(id, new Pending(command, reply));
        try {
            send(Json.write(message));
        } catch (IOException e) {
            pending.remove(id);
            reply.completeExceptionally(open ? new QmpException(QmpException.Kind.CLOSED, command,
                    "QMP " + command + " on " + label + ": " + e.getMessage(), e) : closedException(command));
        }
        if (!open) {
            // Closed between the check and the registration: the reader may have drained already.
            pending.remove(id);
            reply.completeExceptionally(closedException(command));
        }
        return reply;
    }

    /**
     * Watches for the first event accepted by {@code filter} from now on. Create the watch before
     * the command that causes the event, then {@link EventWatch#await(Duration)} it.
     */
    public EventWatch watch(Predicate<QmpEvent> filter) {
        EventWatch w = new EventWatch(filter);
        watches.add(w);
        if (!open) {
            w.future.completeExceptionally(closedException("(event)"));
        }
        return w;
    }

    /** An event being waited for; see {@link #watch(Predicate)}. */
    public final class EventWatch implements AutoCloseable {
        private final Predicate<QmpEvent> filter;
        private final CompletableFuture<QmpEvent> future = new CompletableFuture<>();

        private EventWatch(Predicate<QmpEvent> filter) {
            this.filter = filter;
        }

        /** The event, once it came; waits at most {@code timeout}. */
        public QmpEvent await(Duration timeout) throws QmpException {
            try {
                return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new QmpException(QmpException.Kind.TIMEOUT, null, "no matching event on " + label + " within "
                        + timeout.toMillis() + " ms", e);
            } catch (ExecutionException e) {
                throw asQmp(e.getCause(), null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QmpException(QmpException.Kind.CLOSED, null, "interrupted waiting for an event", e);
            } finally {
                close();
            }
        }

        /** The event if it has come, else {@code null}. */
        public QmpEvent poll() {
            return future.isDone() && !future.isCompletedExceptionally() ? future.join() : null;
        }

        @Override
        public void close() {
            watches.remove(this);
        }
    }

    /** Closes the connection; waiting commands fail with {@link QmpException.Kind#CLOSED}. Idempotent. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing QMP " + label, e);
        }
        if (Thread.currentThread() != reader) {
            try {
                reader.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        shutdown("closed by the client");
    }

    // ---- reading and writing --------------------------------------------------------------------

    private void send(String line) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        synchronized (writeLock) {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        }
    }

    private void readLoop() {
        ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream(1024);
        String reason = "QEMU closed the QMP socket (it quit or died)";
        try {
            while (true) {
                buffer.clear();
                int n = channel.read(buffer);
                if (n < 0) {
                    break;
                }
                buffer.flip();
                byte[] array = buffer.array();
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (array[i] == '\n') {
                        line.write(array, start, i - start);
                        start = i + 1;
                        dispatch(line.toString(StandardCharsets.UTF_8));
                        line.reset();
                    }
                }
                line.write(array, start, n - start);
                if (line.size() > MAX_LINE) {
                    reason = "QMP line longer than " + MAX_LINE + " bytes from " + label;
                    break;
                }
            }
        } catch (ClosedChannelException e) {
            reason = "closed by the client";
        } catch (IOException e) {
            // A reset is how a peer that died with bytes unread looks: the same as end-of-file.
            reason = reason + ": " + e.getMessage();
        } catch (RuntimeException e) {
            reason = "QMP protocol error: " + e.getMessage();
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
        shutdown(reason);
    }

    private void dispatch(String text) {
        if (text.isBlank()) {
            return;
        }
        Map<String, Object> message;
        try {
            message = Json.parseObject(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a JSON object from " + label + " (" + e.getMessage() + ")");
        }
        if (message.containsKey("QMP")) {
            greeting.complete(message);
            return;
        }
        Object event = message.get("event");
        if (event instanceof String) {
            Map<String, Object> ts = Json.object(message, "timestamp");
            QmpEvent e = new QmpEvent((String) event, Json.object(message, "data"),
                    Json.number(ts, "seconds", 0) * 1_000_000 + Json.number(ts, "microseconds", 0));
            deliver(e);
            return;
        }
        Object id = message.get("id");
        Pending p = id == null ? null : pending.remove(String.valueOf(id));
        if (p == null) {
            // A reply to a command that timed out, or an error for a line QEMU could not parse.
            LOG.log(System.Logger.Level.DEBUG, () -> "QMP " + label + ": unmatched message " + excerpt(text));
            return;
        }
        if (message.containsKey("error")) {
            Map<String, Object> error = Json.object(message, "error");
            String errorClass = Json.string(error, "class");
            String desc = Json.string(error, "desc");
            p.reply().completeExceptionally(new QmpException(QmpException.Kind.ERROR, p.command(), errorClass,
                    "QMP " + p.command() + " on " + label + " failed: " + errorClass + ": " + desc));
        } else {
            p.reply().complete(message.get("return"));
        }
    }

    private void deliver(QmpEvent event) {
        for (Consumer<QmpEvent> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "QMP event listener failed on " + event.name(), e);
            }
        }
        for (EventWatch w : watches) {
            boolean matches;
            try {
                matches = w.filter.test(event);
            } catch (RuntimeException e) {
                matches = false;
            }
            if (matches) {
                w.future.complete(event);
                watches.remove(w);
            }
        }
    }

    private void shutdown(String reason) {
        if (!closed.isDone()) {
            open = false;
            closed.complete(reason);
        }
        open = false;
        greeting.completeExceptionally(new QmpException(QmpException.Kind.CLOSED, null,
                "QMP " + label + " closed before its greeting: " + reason, (Throwable) null));
        for (String id : new ArrayList<>(pending.keySet())) {
            Pending p = pending.remove(id);
            if (p != null) {
                p.reply().completeExceptionally(closedException(p.command()));
            }
        }
        for (EventWatch w : watches) {
            w.future.completeExceptionally(closedException("(event)"));
        }
        watches.clear();
    }

    private QmpException closedException(String command) {
        return new QmpException(QmpException.Kind.CLOSED, command, "QMP " + command + " on " + label
                + ": connection closed (" + closed.getNow("closing") + ")", (Throwable) null);
    }

    private static QmpException asQmp(Throwable cause, String command) {
        if (cause instanceof QmpException) {
            return (QmpException) cause;
        }
        return new QmpException(QmpException.Kind.PROTOCOL, command, String.valueOf(cause), cause);
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    private static String excerpt(String text) {
        String s = text.length() > 200 ? text.substring(0, 200) + "…" : text;
        return s.replaceAll("[\\p{Cntrl}]", "?");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
