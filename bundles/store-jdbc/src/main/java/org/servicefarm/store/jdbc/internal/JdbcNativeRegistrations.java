package org.servicefarm.store.jdbc.internal;

import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.servicefarm.api.NativeService;
import org.servicefarm.api.store.NativeRegistrations;

/** The services hosts run themselves added through an appliance's API, one row each, read by every appliance. */
@Component(service = NativeRegistrations.class)
public class JdbcNativeRegistrations implements NativeRegistrations {

    private final Registrations<NativeService> rows;

    @Activate
    public JdbcNativeRegistrations(@Reference Database database) {
        this.rows = new Registrations<>(database, "native_registration", NativeService.class, NativeService::name,
                "native service");
    }

    @Override
    public List<NativeService> natives() {
        return rows.all();
    }

    @Override
    public void put(NativeService service) {
        rows.put(service);
    }

    @Override
    public void remove(String name) {
        rows.remove(name);
    }
}
