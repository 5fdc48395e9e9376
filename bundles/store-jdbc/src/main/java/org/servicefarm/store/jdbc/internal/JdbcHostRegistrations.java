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
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.store.HostRegistrations;

/** The hosts added through an appliance's API, one row each, read by every appliance sharing the database. */
@Component(service = HostRegistrations.class)
public class JdbcHostRegistrations implements HostRegistrations {

    private final Database database;
    private final RowCodec codec = new RowCodec();

    @Activate
    public JdbcHostRegistrations(@Reference Database database) {
        this.database = database;
    }

    @Override
    public List<HostRecord> hosts() {
        List<HostRecord> hosts = new ArrayList<>();
        try (Connection c = database.connection();
             PreparedStatement select = c.prepareStatement("SELECT doc FROM host_registration ORDER BY name");
             ResultSet rs = select.executeQuery()) {
            while (rs.next()) {
                hosts.add(codec.read(rs.getString(1), HostRecord.class));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the hosts registered farm-wide: " + e.getMessage(), e);
        }
        return hosts;
    }

    @Override
    public void put(HostRecord host) {
        String doc = codec.write(host);
        try (Connection c = database.connection()) {
            try (PreparedStatement update = c.prepareStatement("UPDATE host_registration SET doc = ?, "
                    + "updated_at = CURRENT_TIMESTAMP WHERE name = ?")) {
                update.setString(1, doc);
                update.setString(2, host.name());
                if (update.executeUpdate() == 1) {
                    return;
                }
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO host_registration (name, doc, "
                    + "updated_at) VALUES (?, ?, CURRENT_TIMESTAMP)")) {
                insert.setString(1, host.name());
                insert.setString(2, doc);
                insert.executeUpdate();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot register host " + host.name() + " farm-wide: " + e.getMessage(),
                    e);
        }
    }

    @Override
    public void remove(String name) {
        try (Connection c = database.connection();
             PreparedStatement delete = c.prepareStatement("DELETE FROM host_registration WHERE name = ?")) {
            delete.setString(1, name);
            delete.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot remove host " + name + "'s farm-wide registration: "
                    + e.getMessage(), e);
        }
    }
}
