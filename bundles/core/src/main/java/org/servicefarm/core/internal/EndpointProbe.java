package org.servicefarm.core.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import org.servicefarm.api.Endpoint;
import org.servicefarm.api.Names;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells when a VM's services answer on their endpoints: each endpoint is tried with a TCP connect and an HTTP
 * {@code GET /}, and counts as answering once an HTTP status line comes back (a 404 or a 500 is an answer: the
 * service runs), except 502, 503 and 504: a server saying that what stands behind it (a PHP-FPM or WSGI backend
 * still starting in a real guest) cannot answer yet, so a client would get no content either. A failed try is
 * repeated after an interval until an overall limit. A TCP connect alone proves nothing: QEMU's user-mode network
 * accepts a forwarded connection before the guest listens, and holds it, unanswered, while its own connection to the
 * booting guest waits for a SYN retry. So tries overlap: while one waits for its answer (up to the try's timeout), a
 * new one starts every interval (at most {@link #MAX_OPEN} at once per endpoint), and the first answer counts. A
 * guest that comes up is seen within about an interval, not only when the held try times out (with one try at a time
 * a real guest's first answer came in steps of the 2 s timeout), and a slow service still gets the whole timeout.
 * <p>
 * One thread runs every probe: a selector over non-blocking connections, and a queue of tries due later. No thread
 * waits for a guest, however many VMs are booting, and a probe's caller is not held either: it gets a future.
 */
final class EndpointProbe implements Readiness {

    private static final Logger LOG = LoggerFactory.getLogger(EndpointProbe.class);
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/[0-9](\\.[0-9])? ([0-9]{3})( [^\\r\\n]*)?\\r?");
    /** The most tries open at once on one endpoint. */
    static final int MAX_OPEN = 8;
    /** Gateway and availability errors: the server runs, but what it fronts does not answer yet. */
    private static final Set<String> NOT_YET = Set.of("502", "503", "504");
    /** Enough for any status line; a longer first line is not HTTP. */
    private static final int RESPONSE_LIMIT = 1024;

    /**
     * How endpoints are probed.
     *
     * @param attempt  the longest one try (connect, request, status line) may take
     * @param interval the pause after a failed try
     * @param limit    how long an endpoint may take to answer in all
     */
    record Timing(Duration attempt, Duration interval, Duration limit) {
        Timing {
            if (attempt.isNegative() || attempt.isZero() || interval.isNegative() || limit.isNegative()
                    || limit.isZero()) {
                throw new IllegalArgumentException("probe timeout and limit must be positive, the interval must not "
                        + "be negative");
            }
        }
    }

    /** An endpoint did not answer within the limit; the message says which, and what the last try met. */
    static final class NoAnswerException extends Exception {
        private static final long serialVersionUID = 1L;

        NoAnswerException(String message) {
            super(message);
        }
    }

    private final Selector selector;
    private final Thread thread;
    /** Endpoints handed in by {@link #await}, picked up by the probe thread. */
    private final Queue<Target> incoming = new ConcurrentLinkedQueue<>();
    /** Every endpoint not answered or given up yet: what {@link #close} fails. */
    private final Set<Target> live = ConcurrentHashMap.newKeySet();
    /** Tries due later, soonest first; the probe thread's alone. */
    private final PriorityQueue<Target> due = new PriorityQueue<>(Comparator.comparingLong(t -> t.dueNanos));
    private volatile boolean closed;

    EndpointProbe() {
        try {
            selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector for endpoint probes", e);
        }
        thread = new Thread(this::run, "servicefarm-endpoint-probe");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Probes every endpoint until it answers.
     *
     * @return completes when all answered; fails with {@link NoAnswerException} as soon as one does not answer within
     *         the limit (the others are given up then). Cancelling it gives up the probes.
     */
    @Override
    public CompletableFuture<Void> await(Map<String, Endpoint> endpoints, Timing timing) {
        CompletableFuture<Void> all = new CompletableFuture<>();
        if (closed) {
            all.completeExceptionally(new IllegalStateException("the endpoint probe is stopped"));
            return all;
        }
        List<Target> targets = new ArrayList<>();
        AtomicInteger waiting = new AtomicInteger(endpoints.size());
        long giveUpAt = System.nanoTime() + timing.limit().toNanos();
        for (Map.Entry<String, Endpoint> entry : endpoints.entrySet()) {
            Target target = new Target(entry.getKey(), entry.getValue(), timing, giveUpAt);
            targets.add(target);
            target.done.whenComplete((ok, failure) -> {
                live.remove(target);
                if (failure != null) {
                    all.completeExceptionally(failure);
                } else if (waiting.decrementAndGet() == 0) {
                    all.complete(null);
                }
            });
        }
        // whichever way it ends, nothing of it keeps probing
        all.whenComplete((ok, failure) -> targets.forEach(t -> t.done.cancel(false)));
        if (targets.isEmpty()) {
            all.complete(null);
        }
        for (Target target : targets) {
            try {
                target.address = new InetSocketAddress(InetAddress.getByName(target.endpoint.host()),
                        target.endpoint.port());
            } catch (UnknownHostException e) {
                target.done.completeExceptionally(new NoAnswerException(target.name() + " cannot be probed: "
                        + "its host does not resolve"));
                continue;
            }
            live.add(target);
            incoming.add(target);
        }
        selector.wakeup();
        return all;
    }

    /** Stops probing; every probe still waiting fails. */
    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        IllegalStateException stopped = new IllegalStateException("the endpoint probe stopped");
        List.copyOf(live).forEach(target -> target.done.completeExceptionally(stopped));
    }

    private void run() {
        try {
            while (!closed) {
                long now = System.nanoTime();
                for (Target target; (target = incoming.poll()) != null; ) {
                    target.dueNanos = now;
                    target.queued = true;
                    due.add(target);
                }
                while (!due.isEmpty() && due.peek().dueNanos <= now) {
                    Target target = due.poll();
                    target.queued = false;
                    start(target, now);
                }
                long next = Long.MAX_VALUE;
                for (SelectionKey key : List.copyOf(selector.keys())) {
                    Attempt attempt = (Attempt) key.attachment();
                    if (key.isValid() && attempt.target.done.isDone()) {
                        attempt.target.open--; // another try answered, or the probe was given up
                        closeQuietly(attempt.channel);
                    } else if (key.isValid() && attempt.deadline <= now) {
                        // a try the limit cut short says nothing new: the last real failure stands
                        fail(attempt, attempt.deadline == attempt.target.giveUpAt ? null
                                : "no answer within " + attempt.target.timing.attempt().toMillis() + " ms", now);
                    } else if (key.isValid()) {
                        next = Math.min(next, attempt.deadline);
                    }
                }
                if (!due.isEmpty()) {
                    next = Math.min(next, due.peek().dueNanos); // after the timeouts above: they queue retries
                }
                long waitMillis = next == Long.MAX_VALUE ? 0 : Math.max(1, (next - now + 999_999) / 1_000_000);
                selector.select(waitMillis);
                now = System.nanoTime();
                for (SelectionKey key : selector.selectedKeys()) {
                    handle(key, now);
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("The endpoint probe failed; VMs waiting to answer fail too: {}", e.toString(), e);
            closed = true;
        } finally {
            for (SelectionKey key : selector.keys()) {
                closeQuietly(((Attempt) key.attachment()).channel);
            }
            try {
                selector.close();
            } catch (IOException e) {
                LOG.debug("closing the probe's selector failed", e);
            }
        }
    }

    /** Starts one try: a non-blocking connect, then the request, then the status line. */
    private void start(Target target, long now) {
        if (target.done.isDone()) {
            return; // answered meanwhile, given up, or cancelled
        }
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open();
            channel.configureBlocking(false);
            Attempt attempt = new Attempt(target, channel, Math.min(now + target.timing.attempt().toNanos(),
                    target.giveUpAt));
            boolean connected = channel.connect(target.address);
            channel.register(selector, connected ? SelectionKey.OP_WRITE : SelectionKey.OP_CONNECT, attempt);
            target.open++;
        } catch (IOException e) {
            closeQuietly(channel);
            retry(target, describe(e), now);
            return;
        }
        // the next try starts after an interval even if this one is still waiting for its answer
        long next = now + target.timing.interval().toNanos();
        if (target.open < MAX_OPEN && !target.queued && next < target.giveUpAt) {
            target.dueNanos = next;
            target.queued = true;
            due.add(target);
        }
    }

    private void handle(SelectionKey key, long now) {
        Attempt attempt = (Attempt) key.attachment();
        if (!key.isValid()) {
            return;
        }
        try {
            if (key.isConnectable() && attempt.channel.finishConnect()) {
                key.interestOps(SelectionKey.OP_WRITE);
            }
            if (key.isValid() && key.isWritable()) {
                attempt.channel.write(attempt.request);
                if (!attempt.request.hasRemaining()) {
                    key.interestOps(SelectionKey.OP_READ);
                }
            }
            if (key.isValid() && key.isReadable()) {
                int read = attempt.channel.read(attempt.response);
                String answer = new String(attempt.response.array(), 0, attempt.response.position(),
                        StandardCharsets.ISO_8859_1);
                int lineEnd = answer.indexOf('\n');
                java.util.regex.Matcher status = STATUS_LINE.matcher(lineEnd >= 0 ? answer.substring(0, lineEnd) : "");
                if (lineEnd >= 0 && status.matches() && NOT_YET.contains(status.group(2))) {
                    fail(attempt, "it answered " + status.group(2) + ": what serves behind it is not ready", now);
                } else if (lineEnd >= 0 && status.matches()) {
                    succeed(attempt);
                } else if (lineEnd >= 0 || !"HTTP/".startsWith(answer.substring(0, Math.min(5, answer.length())))
                        || !attempt.response.hasRemaining()) {
                    fail(attempt, "it answered, but not with an HTTP status line", now);
                } else if (read < 0) {
                    fail(attempt, "the connection was closed without an HTTP answer", now);
                }
            }
        } catch (IOException e) {
            fail(attempt, describe(e), now);
        }
    }

    private void succeed(Attempt attempt) {
        attempt.target.open--;
        closeQuietly(attempt.channel);
        attempt.target.done.complete(null);
    }

    private void fail(Attempt attempt, String why, long now) {
        attempt.target.open--;
        closeQuietly(attempt.channel);
        retry(attempt.target, why, now);
    }

    /** Schedules the next try, or gives up when it would come after the limit; {@code why} may be null (see above). */
    private void retry(Target target, String why, long now) {
        target.tries++;
        if (why != null) {
            target.lastFailure = why;
        }
        long next = now + target.timing.interval().toNanos();
        if (target.done.isDone() || target.queued) {
            return; // a try is already due
        }
        if (next >= target.giveUpAt) {
            if (target.open > 0) {
                return; // the tries still open end by the limit; the last of them gives up
            }
            target.done.completeExceptionally(new NoAnswerException(target.name() + " did not answer HTTP within "
                    + target.timing.limit().toMillis() + " ms (" + target.tries + (target.tries == 1 ? " try" : " tries")
                    + "; last: " + target.lastFailure + ")"));
        } else {
            target.dueNanos = next;
            due.add(target);
        }
    }

    private static String describe(IOException e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName()
                : Names.excerpt(message, 120).toLowerCase(java.util.Locale.ROOT);
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.debug("closing a probe connection failed", e);
            }
        }
    }

    /** One endpoint being probed. */
    private static final class Target {
        final String service;
        final Endpoint endpoint;
        final Timing timing;
        final long giveUpAt;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        volatile InetSocketAddress address;
        long dueNanos;
        /** Whether a try is due (in the queue); the probe thread's alone, as the fields below. */
        boolean queued;
        /** Tries connected or waiting for their answer. */
        int open;
        int tries;
        String lastFailure = "the limit was reached during the first try";

        Target(String service, Endpoint endpoint, Timing timing, long giveUpAt) {
            this.service = service;
            this.endpoint = endpoint;
            this.timing = timing;
            this.giveUpAt = giveUpAt;
        }

        String name() {
            return "service " + service + " at " + endpoint;
        }
    }

    /** One try on one endpoint. */
    private static final class Attempt {
        final Target target;
        final SocketChannel channel;
        final long deadline;
        final ByteBuffer request;
        final ByteBuffer response = ByteBuffer.allocate(RESPONSE_LIMIT);

        Attempt(Target target, SocketChannel channel, long deadline) {
            this.target = target;
            this.channel = channel;
            this.deadline = deadline;
            // The address, not the endpoint's name, goes into the Host header: it is what was resolved and checked.
            String host = new Endpoint(target.address.getAddress().getHostAddress(), target.endpoint.port()).toString();
            this.request = ByteBuffer.wrap(("GET / HTTP/1.1\r\nHost: " + host + "\r\n"
                    + "User-Agent: servicefarm-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
        }
    }
}
