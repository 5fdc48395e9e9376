package org.servicefarm.api;

import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Where a service runs: operating system, server software, language runtime and patches.
 * A {@code null} field in a request means "any viable choice"; in an {@link Offering} every
 * field is set. Patches are kept sorted and without duplicates so that equal environments
 * are equal records.
 */
public record Environment(String os, String server, String runtime, List<String> patches) {

    public static final Environment ANY = new Environment(null, null, null, List.of());

    /** @throws InvalidRequestException naming the field when a name breaks the {@link Names} grammar */
    public Environment {
        Names.optional("environment.os", os);
        Names.optional("environment.server", server);
        Names.optional("environment.runtime", runtime);
        if (patches != null) {
            patches.forEach(patch -> Names.required("environment.patches", patch));
        }
        patches = patches == null ? List.of() : List.copyOf(new TreeSet<>(patches));
    }

    /** True when os, server and runtime are all chosen. */
    public boolean complete() {
        return os != null && server != null && runtime != null;
    }

    public Environment withPatches(List<String> newPatches) {
        return new Environment(os, server, runtime, newPatches);
    }

    @Override
    public String toString() {
        return Objects.toString(os, "*") + "/" + Objects.toString(server, "*") + "/"
                + Objects.toString(runtime, "*") + (patches.isEmpty() ? "" : "+" + String.join("+", patches));
    }
}
