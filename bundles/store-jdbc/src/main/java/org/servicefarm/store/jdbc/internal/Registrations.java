package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Things added through an appliance's API that every appliance sharing the database takes on (hosts, native
 * services): one row each, by name, the thing as a JSON document. A put replaces the row of that name.
 *
 * @param <T> what is registered: a record the {@link RowCodec} writes and reads
 */
final class Registrations<T> {

    private final Database database;
    private final String table;
    private final Class<T> type;
    private final Function<T, String> name;
    private final String what;
    private final RowCodec codec = new RowCodec();

    /**
     * @param table a table of this bundle's migrations (a constant, never input)
     * @param what  what a row is, for messages ("host", "native service")
     */
    Registrations(Database database, String table, Class<T> type, Function<T, String> name, String what) {
        this.database = database;
        this.table = table;
        this.type = type;
        this.name = name;
        this.what = what;
    }

    List<T> all() {
        List<T> all = new ArrayList<>();
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT doc FROM " + table + " ORDER BY name");
             ResultSet rs = select.executeQuery()) {
            while (rs.next()) {
                all.add(codec.read(rs.getString(1), type));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the " + what + "s registered farm-wide: " + e.getMessage(),
                    e);
        }
        return all;
    }

    void put(T registered) {
        String doc = codec.write(registered);
        String key = name.apply(registered);
        try (Connection c = database.connection()) {
            try (PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET doc = ?, "
                    + "updated_at = CURRENT_TIMESTAMP WHERE name = ?")) {
                update.setString(1, doc);
                update.setString(2, key);
                if (update.executeUpdate() == 1) {
                    return;
                }
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " (name, doc, "
                    + "updated_at) VALUES (?, ?, CURRENT_TIMESTAMP)")) {
                insert.setString(1, key);
                insert.setString(2, doc);
                insert.executeUpdate();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot register " + what + " " + key + " farm-wide: " + e.getMessage(),
                    e);
        }
    }

    void remove(String key) {
        try (Connection c = database.connection();
             PreparedStatement delete = c.prepareStatement("DELETE FROM " + table + " WHERE name = ?")) {
            delete.setString(1, key);
            delete.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot remove " + what + " " + key + "'s farm-wide registration: "
                    + e.getMessage(), e);
        }
    }
}
