package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.CommandException;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.servicefarm.api.FarmListener;
import org.servicefarm.api.Outcome;
import org.servicefarm.api.ServiceRequest;
import org.servicefarm.api.VmRecord;

/**
 * farm:events: what {@code GET /events} streams as it happens, from the same source (the manager's {@link FarmListener}
 * events): each VM's row change and each answer, a line each, until Ctrl-C, a count or a time. The listener is
 * registered while the command runs and returns at once (a bounded queue; lines past it are counted, not printed).
 * The stream's periodic host, build and popularity deltas are not repeated: farm:hosts, farm:images and
 * farm:popularity read them.
 */
@Command(scope = "farm", name = "events", description = "Follows the farm as it changes: a line per VM state change "
        + "and per answered request, until Ctrl-C (or --count events, or --for seconds).")
@Service
public class EventsCommand implements Action {

    static final int QUEUE = 10_000;

    @Reference
    BundleContext context;

    @Option(name = "--count", description = "Stop after this many events (default: no limit)")
    Integer count;

    @Option(name = "--for", description = "Stop after this many seconds (default: until Ctrl-C)")
    Integer seconds;

    PrintStream out = System.out;
    Clock clock = Clock.systemUTC();

    @Override
    public Object execute() throws CommandException {
        if (count != null && count < 1) {
            throw Failures.failure("Invalid option --count: count must be at least 1, not " + count);
        }
        if (seconds != null && seconds < 1) {
            throw Failures.failure("Invalid option --for: for must be at least 1 second, not " + seconds);
        }
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(QUEUE);
        AtomicLong dropped = new AtomicLong();
        FarmListener listener = new FarmListener() {
            @Override
            public void vmChanged(VmRecord vm) {
                offer("vm      " + vm.id() + " " + vm.state() + " on " + vm.hostId() + "  " + vm.offering().key()
                        + (vm.detail() == null ? "" : ": " + vm.detail()));
            }

            @Override
            public void answered(ServiceRequest request, Outcome outcome) {
                offer("answer  " + Formats.outcome(request, outcome).lines().findFirst().orElse(""));
            }

            private void offer(String line) {
                if (!lines.offer(LocalTime.now(clock.withZone(ZoneOffset.UTC)).truncatedTo(ChronoUnit.MILLIS) + " "
                        + line)) {
                    dropped.incrementAndGet();
                }
            }
        };
        long end = seconds == null ? Long.MAX_VALUE : System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        ServiceRegistration<FarmListener> registration = context.registerService(FarmListener.class, listener, null);
        try {
            for (long printed = 0; count == null || printed < count; printed++) {
                String line = null;
                while (line == null && System.nanoTime() < end) {
                    line = lines.poll(Math.min(250, Math.max(1, (end - System.nanoTime()) / 1_000_000)),
                            TimeUnit.MILLISECONDS);
                }
                if (line == null) {
                    break;
                }
                out.println(line);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // Ctrl-C: the normal end
        } finally {
            registration.unregister();
        }
        if (dropped.get() > 0) {
            out.println(dropped.get() + " event(s) came faster than they could be printed and were left out");
        }
        return null;
    }
}
