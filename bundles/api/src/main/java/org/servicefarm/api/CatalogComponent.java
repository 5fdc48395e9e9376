package org.servicefarm.api;

/**
 * One component of the service directory: an application, an operating system, server
 * software, a runtime or a patch.
 *
 * @param kind    what it is
 * @param name    its name, e.g. {@code wiki} or {@code debian-12}
 * @param version its version for applications, {@code null} for the other kinds (their name carries it)
 */
public record CatalogComponent(Kind kind, String name, String version) {

    public enum Kind {
        APPLICATION("app"), OS("os"), SERVER("server"), RUNTIME("runtime"), PATCH("patch"), SECURITY("security");

        private final String prefix;

        Kind(String prefix) {
            this.prefix = prefix;
        }

        /** The prefix used for this kind in compatibility rules, e.g. {@code os}. */
        public String prefix() {
            return prefix;
        }
    }

    @Override
    public String toString() {
        return kind.prefix() + ":" + name + (version == null ? "" : "@" + version);
    }
}
