package org.servicefarm.store.jdbc.internal;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.store.FarmKeys;

/**
 * Keys in the database, one row each: the first appliance that asks for a key inserts a random one, and an
 * appliance that loses that race reads the winner's. Read once per appliance, then kept in memory.
 */
@Component(service = FarmKeys.class)
public class JdbcFarmKeys implements FarmKeys {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9.-]{1,64}");
    private static final int BYTES = 32;

    private final Database database;
    private final Map<String, byte[]> keys = new ConcurrentHashMap<>();

    @Activate
    public JdbcFarmKeys(@Reference Database database) {
        this.database = database;
    }

    @Override
    public byte[] key(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a key's name is 1-64 letters, digits, '.' or '-'");
        }
        return keys.computeIfAbsent(name, this::readOrMake).clone();
    }

    private byte[] readOrMake(String name) {
        try (Connection c = database.connection()) {
            byte[] key = read(c, name);
            if (key != null) {
                return key;
            }
            byte[] made = new byte[BYTES];
            new SecureRandom().nextBytes(made);
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO farm_key (name, key_hex, created_at) "
                    + "VALUES (?, ?, CURRENT_TIMESTAMP)")) {
                insert.setString(1, name);
                insert.setString(2, HexFormat.of().formatHex(made));
                insert.executeUpdate();
                return made;
            } catch (SQLException e) {
                if (!Database.UNIQUE_VIOLATION.equals(e.getSQLState())) {
                    throw e;
                }
                return read(c, name); // another appliance made it first
            }
        } catch (SQLException | RuntimeException e) {
            throw new IllegalStateException("cannot read or make the farm's key " + name + ": " + e.getMessage(), e);
        }
    }

    private static byte[] read(Connection c, String name) throws SQLException {
        try (PreparedStatement select = c.prepareStatement("SELECT key_hex FROM farm_key WHERE name = ?")) {
            select.setString(1, name);
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? HexFormat.of().parseHex(rs.getString(1)) : null;
            }
        }
    }
}
