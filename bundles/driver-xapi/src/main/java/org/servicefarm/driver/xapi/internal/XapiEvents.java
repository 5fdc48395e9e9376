package org.servicefarm.driver.xapi.internal;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;

import org.servicefarm.api.VmState;
import org.servicefarm.api.driver.HypervisorException;
import org.servicefarm.api.driver.VmEvent;
import org.servicefarm.api.driver.VmEventListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool's VM events ({@code event.from}, a long poll) turned into the farm's: one thread per connection asks for
 * what changed since its token, and reports each farm guest of this host whose resting state changed, or that was
 * deleted. XAPI gives each object changed since the token once, with its latest record, so a state passed through
 * between two polls may not be seen: what counts is the state a guest rests in. The first answer (token "") lists
 * every VM as it is: it only fills the table of what is known. A pool
 * that cannot be reached ends the thread and, through {@link #broken()}, the connection.
 */
final class XapiEvents implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(XapiEvents.class);
    /** How long one event.from waits for something to happen: a closing connection interrupts it. */
    private static final double POLL_SECONDS = 30.0;

    private final String host;
    private final XapiRpc rpc;
    private final VmEventListener listener;
    /** VM ref to the farm's id, and the resting state last reported. */
    private final Map<String, String> vmIds = new ConcurrentHashMap<>();
    private final Map<String, VmState> states = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile boolean broken;

    XapiEvents(String host, XapiRpc rpc, VmEventListener listener) {
        this.host = host;
        this.rpc = rpc;
        this.listener = listener;
        this.thread = new Thread(this, "servicefarm-xapi-events-" + host);
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    @Override
    public void run() {
        try {
            follow();
        } finally {
            broken = !stopping; // whatever ended it, the connection is over
        }
    }

    private void follow() {
        String token = "";
        boolean first = true;
        while (!stopping) {
            JsonNode batch;
            try {
                batch = rpc.call(Duration.ofSeconds((long) POLL_SECONDS + 5), "event.from", List.of("vm"), token,
                        POLL_SECONDS);
            } catch (HypervisorException e) {
                if (!stopping) {
                    LOG.warn("host {}: its pool's events stopped, the connection ends: {}", host, e.getMessage());
                }
                return;
            }
            token = batch.path("token").asText(token);
            for (JsonNode event : batch.path("events")) {
                try {
                    observe(event, first);
                } catch (RuntimeException e) { // one odd event must not end the host's events
                    LOG.warn("host {}: an event of its pool could not be read: {}", host, e.toString());
                }
            }
            first = false;
        }
    }

    private void observe(JsonNode event, boolean initial) {
        String ref = event.path("ref").asText();
        if ("del".equals(event.path("operation").asText())) {
            String vmId = vmIds.remove(ref);
            states.remove(ref);
            if (vmId != null && !initial) {
                listener.onEvent(new VmEvent(host, vmId, VmState.DESTROYED, "deleted from the pool"));
            }
            return;
        }
        JsonNode snapshot = event.path("snapshot");
        JsonNode otherConfig = snapshot.path("other_config");
        String vmId = otherConfig.path(XapiHostConnection.VM_KEY).asText(null);
        if (vmId == null || !host.equals(otherConfig.path(XapiHostConnection.HOST_KEY).asText())) {
            return;
        }
        String power = snapshot.path("power_state").asText();
        VmState state = XapiHostConnection.restingState(power);
        vmIds.put(ref, vmId);
        VmState before = states.put(ref, state);
        if (!initial && before != state) {
            listener.onEvent(new VmEvent(host, vmId, state, "XAPI: power state " + power));
        }
    }

    boolean broken() {
        return broken;
    }

    void stop() {
        stopping = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
