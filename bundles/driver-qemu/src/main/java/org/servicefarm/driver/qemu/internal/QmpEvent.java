package org.servicefarm.driver.qemu.internal;

import java.util.Map;

/**
 * An asynchronous QMP event: {@code STOP}, {@code RESUME}, {@code MIGRATION}, {@code SHUTDOWN}, ...
 *
 * @param name      the event name
 * @param data      its data object (empty when QEMU sent none)
 * @param timestampMicros QEMU's timestamp of the event, microseconds since the epoch
 */
public record QmpEvent(String name, Map<String, Object> data, long timestampMicros) {

    /** The {@code status} member of the data ({@code MIGRATION} events), or {@code null}. */
    public String status() {
        return Json.string(data, "status");
    }
}
