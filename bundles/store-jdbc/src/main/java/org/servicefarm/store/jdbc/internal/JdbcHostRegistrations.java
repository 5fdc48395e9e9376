package org.servicefarm.store.jdbc.internal;

import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.store.HostRegistrations;

/** The hosts added through an appliance's API, one row each, read by every appliance sharing the database. */
@Component(service = HostRegistrations.class)
public class JdbcHostRegistrations implements HostRegistrations {

    private final Registrations<HostRecord> rows;

    @Activate
    public JdbcHostRegistrations(@Reference Database database) {
        this.rows = new Registrations<>(database, "host_registration", HostRecord.class, HostRecord::name, "host");
    }

    @Override
    public List<HostRecord> hosts() {
        return rows.all();
    }

    @Override
    public void put(HostRecord host) {
        rows.put(host);
    }

    @Override
    public void remove(String name) {
        rows.remove(name);
    }
}
