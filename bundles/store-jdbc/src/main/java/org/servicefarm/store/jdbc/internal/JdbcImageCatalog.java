package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.store.ImageCatalog;

/**
 * This appliance's image catalog, one row per image. A write sends only what differs from what this component last
 * wrote (a grant that made no VM from an image writes nothing), in one transaction.
 */
@Component(service = ImageCatalog.class)
public class JdbcImageCatalog implements ImageCatalog {

    private final Database database;
    private final String appliance;
    private final RowCodec codec = new RowCodec();
    /** What the rows hold, as this component last read or wrote them; null until first read. */
    private Map<String, Entry> written;

    @Activate
    public JdbcImageCatalog(@Reference Database database) {
        this.database = database;
        this.appliance = database.applianceName();
    }

    @Override
    public synchronized List<Entry> entries() {
        try (Connection c = database.connection()) {
            written = read(c);
            return List.copyOf(written.values());
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the image catalog: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void write(Collection<Entry> images) {
        Map<String, Entry> now = new HashMap<>();
        images.forEach(image -> now.put(image.id(), image));
        if (now.equals(written)) {
            return; // nothing changed since the last write: no round trip
        }
        try (Connection c = database.connection()) {
            Map<String, Entry> before = written != null ? written : read(c);
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                for (Entry image : now.values()) {
                    if (!image.equals(before.get(image.id()))) {
                        put(c, image);
                    }
                }
                try (PreparedStatement delete = c.prepareStatement("DELETE FROM image_catalog WHERE appliance = ? "
                        + "AND id = ?")) {
                    for (String gone : before.keySet()) {
                        if (!now.containsKey(gone)) {
                            delete.setString(1, appliance);
                            delete.setString(2, gone);
                            delete.addBatch();
                        }
                    }
                    delete.executeBatch();
                }
                c.commit();
                written = now;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                written = null; // read again before the next write
                throw e;
            } finally {
                c.setAutoCommit(auto);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot write the image catalog: " + e.getMessage(), e);
        }
    }

    private Map<String, Entry> read(Connection c) throws SQLException {
        Map<String, Entry> rows = new HashMap<>();
        try (PreparedStatement select = c.prepareStatement("SELECT doc FROM image_catalog WHERE appliance = ?")) {
            select.setString(1, appliance);
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    Entry entry = codec.read(rs.getString(1), Entry.class);
                    rows.put(entry.id(), entry);
                }
            }
        }
        return rows;
    }

    private void put(Connection c, Entry image) throws SQLException {
        String doc = codec.write(image);
        try (PreparedStatement update = c.prepareStatement("UPDATE image_catalog SET kind = ?, offering_key = ?, "
                + "host_id = ?, size_bytes = ?, created_at = ?, last_used_at = ?, uses = ?, "
                + "updated_at = CURRENT_TIMESTAMP, doc = ? WHERE appliance = ? AND id = ?")) {
            int i = columns(update, image);
            update.setString(i++, doc);
            update.setString(i++, appliance);
            update.setString(i, image.id());
            if (update.executeUpdate() == 1) {
                return;
            }
        }
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO image_catalog (kind, offering_key, host_id, "
                + "size_bytes, created_at, last_used_at, uses, updated_at, doc, appliance, id) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP, ?, ?, ?)")) {
            int i = columns(insert, image);
            insert.setString(i++, doc);
            insert.setString(i++, appliance);
            insert.setString(i, image.id());
            insert.executeUpdate();
        }
    }

    /** Sets the searched columns, first to seventh; answers the next parameter's index. */
    private static int columns(PreparedStatement statement, Entry image) throws SQLException {
        statement.setString(1, image.kind().name());
        statement.setString(2, image.offering() == null ? null : image.offering().key());
        statement.setString(3, image.host());
        statement.setLong(4, image.sizeBytes());
        statement.setTimestamp(5, Timestamp.from(image.createdAt()));
        statement.setTimestamp(6, image.lastUsedAt() == null ? null : Timestamp.from(image.lastUsedAt()));
        statement.setLong(7, image.uses());
        return 8;
    }
}
