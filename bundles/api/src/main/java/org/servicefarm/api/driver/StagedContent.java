package org.servicefarm.api.driver;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Something a host holds staged ({@link HostConnection#stage}): the volume of one artifact, or what a driver made of
 * several (a boot disk holding a kernel and an initrd). {@link HostConnection#unstage} deletes it.
 *
 * @param id    the host's name for it, what {@link HostConnection#unstage} takes: 1-128 letters, digits, '-', '_'
 *              or '.' (a content hash, a volume or disk id)
 * @param label what it is, for the log and the operator (e.g. "DISK volume 3f2a…")
 * @param bytes what it takes on the host, or -1 when the host does not say
 * @since 3.5
 */
public record StagedContent(String id, String label, long bytes) {

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    public StagedContent {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("a staged content's id is 1-128 letters, digits, '-', '_' or '.'");
        }
        Objects.requireNonNull(label, "label");
        if (bytes < -1) {
            throw new IllegalArgumentException("a staged content's size is -1 (unknown) or more: " + bytes);
        }
    }
}
