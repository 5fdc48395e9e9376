package org.servicefarm.images.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;
import org.servicefarm.api.image.ComponentInfo.Kind;

/**
 * Resolves an offering against a repository, as {@code components/compose} does and with its refusal
 * wording: the OS; per guest service its application, server and runtime (the server must list the
 * runtime among those it hosts); the patches; then the closure over {@code needs}: each need must be
 * provided by a chosen component, else the newest {@code lib} component providing it is added, else
 * the combination is refused, naming the chain. Nothing is built or read but the repository's index.
 */
final class Resolver {

    /** The runtime of a service that needs none, in the catalog and in {@code SF_RUNTIME}. */
    static final String NO_RUNTIME = "none";
    /** Backend ports of services' runtimes start above this one ({@code SF_BACKEND_PORT}). */
    static final int BACKEND_PORT_BASE = 9000;
    private static final List<Kind> LAYER_ORDER = List.of(Kind.OS, Kind.LIB, Kind.SERVER, Kind.RUNTIME, Kind.APP,
            Kind.PATCH);

    /** A combination the repository cannot build; the message is the reason, in compose's words. */
    static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;

        Refusal(String reason) {
            super(reason);
        }
    }

    private Resolver() {
    }

    /**
     * @param services the guest's services and ports; a service named like the offering's is its application at
     *                 the offering's version, any other the newest version of that application
     */
    static Composition resolve(Repository repository, Offering offering, List<VmSpec.GuestService> services)
            throws Refusal {
        if (services.isEmpty()) {
            throw new Refusal("an image needs at least one service");
        }
        Environment env = offering.environment();
        LinkedHashSet<RepositoryComponent> chosen = new LinkedHashSet<>();
        RepositoryComponent os = find(repository, Kind.OS, env.os(), "operating system");
        chosen.add(os);
        List<Composition.ServiceConf> confs = new ArrayList<>();
        int n = 0;
        for (VmSpec.GuestService service : services) {
            n++;
            String appSpec = service.name().equals(offering.service())
                    ? offering.service() + "@" + offering.version() : service.name();
            RepositoryComponent app = find(repository, Kind.APP, appSpec, "application");
            RepositoryComponent server = find(repository, Kind.SERVER, env.server(), "server");
            chosen.add(server);
            String runtimeName = NO_RUNTIME;
            RepositoryComponent runtime = null;
            if (!NO_RUNTIME.equals(env.runtime())) {
                runtime = find(repository, Kind.RUNTIME, env.runtime(), "runtime");
                chosen.add(runtime);
                runtimeName = runtime.startName();
            }
            if (runtimeName == null || !server.runtimes().contains(runtimeName)) {
                throw new Refusal("server " + server.id() + " cannot host runtime '" + env.runtime() + "'");
            }
            chosen.add(app);
            if (app.appRoot() == null) {
                throw new Refusal(app.id() + " names no document root (app.root)");
            }
            int backend = BACKEND_PORT_BASE + n;
            confs.add(new Composition.ServiceConf("s" + n, app.name(), app.appRoot(), server.name(),
                    service.guestPort(), runtimeName, backend, "s" + n + " port " + service.guestPort() + ": "
                    + app.id() + " on " + server.id() + ", runtime " + (runtime == null ? NO_RUNTIME : runtime.id())));
        }
        for (String patch : env.patches()) {
            chosen.add(find(repository, Kind.PATCH, patch, "patch"));
        }
        closeOverNeeds(repository, chosen);

        List<RepositoryComponent> ordered = new ArrayList<>();
        for (Kind kind : LAYER_ORDER) {
            chosen.stream().filter(c -> c.kind() == kind).forEach(ordered::add);
        }
        RepositoryComponent.Blob kernel = null;
        RepositoryComponent.Blob disk = null;
        List<RepositoryComponent.Blob> layers = new ArrayList<>();
        int memory = 0;
        for (RepositoryComponent c : ordered) {
            for (RepositoryComponent.Blob blob : c.artifacts()) {
                switch (blob.role()) {
                    case RepositoryComponent.INITRD_LAYER -> layers.add(blob);
                    case RepositoryComponent.KERNEL -> kernel = blob;
                    case RepositoryComponent.DISK -> disk = blob;
                    default -> throw new IllegalStateException("role " + blob.role());
                }
            }
            memory = Math.max(memory, c.minMemoryMiB());
        }
        if (kernel == null) {
            throw new Refusal(os.id() + " has no kernel");
        }
        return new Composition(offering, services, ordered, kernel, disk, layers, kernel.cmdline(), memory, confs);
    }

    private static RepositoryComponent find(Repository repository, Kind kind, String spec, String what) throws Refusal {
        Optional<RepositoryComponent> found = repository.find(kind, spec);
        if (found.isEmpty()) {
            throw new Refusal("no " + what + " component '" + spec + "'");
        }
        return found.get();
    }

    /** Adds lib components until every need is met, or refuses naming the need and why its holder is there. */
    private static void closeOverNeeds(Repository repository, LinkedHashSet<RepositoryComponent> chosen) throws Refusal {
        Map<RepositoryComponent, String> addedBecause = new HashMap<>();
        boolean changed = true;
        while (changed) {
            changed = false;
            for (RepositoryComponent c : List.copyOf(chosen)) {
                for (String need : c.needs()) {
                    if (provided(chosen, need)) {
                        continue;
                    }
                    Optional<RepositoryComponent> lib = libFor(repository, need);
                    if (lib.isEmpty() || chosen.contains(lib.get())) {
                        String via = addedBecause.get(c);
                        throw new Refusal(c.id() + " needs " + need + ", which nothing in this combination provides"
                                + (via == null ? "" : " (" + c.id() + " was added because " + via + ")"));
                    }
                    addedBecause.put(lib.get(), c.id() + " needs " + need);
                    chosen.add(lib.get());
                    changed = true;
                }
            }
        }
    }

    private static Optional<RepositoryComponent> libFor(Repository repository, String need) {
        for (String alternative : need.split("\\|")) {
            if (!alternative.contains("*") && !alternative.contains("?")) {
                Optional<RepositoryComponent> lib = repository.libProviding(alternative);
                if (lib.isPresent()) {
                    return lib;
                }
            }
        }
        return Optional.empty();
    }

    /** True if some chosen component provides a selector matching one of the need's alternatives (globs). */
    static boolean provided(Iterable<RepositoryComponent> chosen, String need) {
        for (String alternative : need.split("\\|")) {
            Pattern glob = glob(alternative);
            for (RepositoryComponent c : chosen) {
                for (String provide : c.provides()) {
                    if (glob.matcher(provide).matches()) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static Pattern glob(String glob) {
        StringBuilder regex = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char ch : glob.toCharArray()) {
            if (ch == '*' || ch == '?') {
                regex.append(Pattern.quote(literal.toString())).append(ch == '*' ? ".*" : ".");
                literal.setLength(0);
            } else {
                literal.append(ch);
            }
        }
        return Pattern.compile(regex.append(Pattern.quote(literal.toString())).toString());
    }
}
