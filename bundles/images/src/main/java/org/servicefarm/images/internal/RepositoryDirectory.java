package org.servicefarm.images.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The component repository of a directory, read again whenever its {@code index.json} changes (another
 * file, size or modification time: {@code components/build} replaces it by a rename). A changed index
 * that breaks the schema is refused and the last good one stays in force.
 */
final class RepositoryDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(RepositoryDirectory.class);

    /** The repository in force, or why there is none. */
    record State(Repository repository, String problem) {
    }

    private record Stamp(Object fileKey, long size, FileTime modified) {
    }

    private record Snapshot(Stamp stamp, State state) {
    }

    private final Path root;
    private volatile Snapshot last;

    /** @param root the repository's directory, or null when none is configured */
    RepositoryDirectory(Path root) {
        this.root = root;
    }

    Path root() {
        return root;
    }

    /** The repository as its index is now (a stat of index.json; a parse only when it changed). */
    State current() {
        if (root == null) {
            return new State(null, "no component repository is configured ('repository' in org.servicefarm.images)");
        }
        Stamp stamp = stamp(root.resolve("index.json"));
        Snapshot snapshot = last;
        if (snapshot != null && Objects.equals(snapshot.stamp(), stamp)) {
            return snapshot.state();
        }
        synchronized (this) {
            snapshot = last;
            if (snapshot != null && Objects.equals(snapshot.stamp(), stamp)) {
                return snapshot.state();
            }
            State state = load(stamp, snapshot == null ? null : snapshot.state().repository());
            last = new Snapshot(stamp, state);
            return state;
        }
    }

    private State load(Stamp stamp, Repository previous) {
        if (stamp == null) {
            return new State(null, "no component repository at " + root + ": it has no index.json (build one with "
                    + "components/build and set 'repository' in org.servicefarm.images to its output)");
        }
        try {
            Repository repository = Repository.read(root);
            LOG.info("Component repository {}: {} components", root, repository.components().size());
            return new State(repository, null);
        } catch (RepositoryException e) {
            if (previous != null) {
                LOG.warn("The changed component repository index at {} is refused, the previous one stays in force: {}",
                        root, e.getMessage());
                return new State(previous, null);
            }
            LOG.warn("The component repository at {} is refused: {}", root, e.getMessage());
            return new State(null, "the component repository at " + root + " is refused: " + e.getMessage());
        }
    }

    private static Stamp stamp(Path index) {
        try {
            BasicFileAttributes a = Files.readAttributes(index, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return new Stamp(a.fileKey(), a.size(), a.lastModifiedTime());
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return new Stamp("unreadable: " + e.getMessage(), -1, null);
        }
    }
}
