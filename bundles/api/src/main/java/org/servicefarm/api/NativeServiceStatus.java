package org.servicefarm.api;

import java.time.Instant;
import java.util.Objects;

/**
 * A {@link NativeService} as the manager sees it now. Only a service that answers on its endpoint is granted; one
 * that does not (its host is down, the service stopped) is left to VMs until it answers again.
 *
 * @param service   what is configured
 * @param answering whether its endpoint answered the last probe
 * @param detail    why it does not answer (what the last probe met), or {@code null}
 * @param since     when it began to answer, or to fail; {@code null} before its first probe ended
 * @param grants    the requests granted to it since the appliance started
 * @since 1.10
 */
public record NativeServiceStatus(NativeService service, boolean answering, String detail, Instant since,
                                  long grants) {

    public NativeServiceStatus {
        Objects.requireNonNull(service, "service");
    }
}
