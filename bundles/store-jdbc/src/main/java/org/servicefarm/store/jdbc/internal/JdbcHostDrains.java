package org.servicefarm.store.jdbc.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.store.HostDrains;

/** The hosts an operator drained, one row each, read by every appliance sharing the database. */
@Component(service = HostDrains.class)
public class JdbcHostDrains implements HostDrains {

    private final Database database;

    @Activate
    public JdbcHostDrains(@Reference Database database) {
        this.database = database;
    }

    @Override
    public List<Drain> drains() {
        List<Drain> drains = new ArrayList<>();
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT name, since, appliance FROM host_drain "
                     + "ORDER BY name");
             ResultSet rs = select.executeQuery()) {
            while (rs.next()) {
                drains.add(new Drain(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getString(3)));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the hosts drained farm-wide: " + e.getMessage(), e);
        }
        return drains;
    }

    @Override
    public void drain(String host, boolean drained) {
        try (Connection c = database.connection()) {
            if (drained) {
                insert(c, host);
            } else {
                try (PreparedStatement delete = c.prepareStatement("DELETE FROM host_drain WHERE name = ?")) {
                    delete.setString(1, host);
                    delete.executeUpdate();
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot " + (drained ? "drain" : "undrain") + " host " + host
                    + " farm-wide: " + e.getMessage(), e);
        }
    }

    /** Adds the host's row unless it has one: a host drained again keeps when and by whom it was first drained. */
    private void insert(Connection c, String host) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement("INSERT INTO host_drain (name, since, appliance) "
                + "VALUES (?, CURRENT_TIMESTAMP, ?)")) {
            insert.setString(1, host);
            insert.setString(2, database.applianceName());
            insert.executeUpdate();
        } catch (SQLException e) {
            if (!Database.UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw e;
            }
        }
    }
}
