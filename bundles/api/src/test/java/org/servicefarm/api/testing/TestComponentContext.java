package org.servicefarm.api.testing;

import java.io.File;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.ComponentContext;
import org.servicefarm.api.config.RefusedConfiguration;

/**
 * What a configured component's context gives it in a framework, for a test without one: its properties, its bundle's
 * data area (a folder) and a registry of the {@link RefusedConfiguration}s it registers. Everything else a context
 * can do is refused, so a component that needs more fails its test loudly.
 */
public final class TestComponentContext {

    private final Path data;
    /** The refusals registered and not withdrawn, in order. */
    public final List<RefusedConfiguration> refusals = new CopyOnWriteArrayList<>();

    /** @param data the bundle's data area, kept across the contexts made here (a restart keeps it too) */
    public TestComponentContext(Path data) {
        this.data = data;
    }

    /** A context whose properties are {@code properties}, e.g. those its configuration was converted from. */
    public ComponentContext with(Map<String, ?> properties) {
        Hashtable<String, Object> dictionary = new Hashtable<>(properties);
        BundleContext bundle = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[]{BundleContext.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getDataFile" -> new File(data.toFile(), (String) args[0]);
                    case "registerService" -> register((RefusedConfiguration) args[1], (Dictionary<?, ?>) args[2]);
                    default -> throw new UnsupportedOperationException("BundleContext." + method.getName());
                });
        return (ComponentContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[]{ComponentContext.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getProperties" -> dictionary;
                    case "getBundleContext" -> bundle;
                    default -> throw new UnsupportedOperationException("ComponentContext." + method.getName());
                });
    }

    private ServiceRegistration<?> register(RefusedConfiguration refusal, Dictionary<?, ?> properties) {
        if (!refusal.pid().equals(properties.get(RefusedConfiguration.PID))) {
            throw new IllegalArgumentException("a refusal registered without its pid as a property: " + properties);
        }
        refusals.add(refusal);
        return (ServiceRegistration<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[]{ServiceRegistration.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("unregister")) {
                        throw new UnsupportedOperationException("ServiceRegistration." + method.getName());
                    }
                    if (!refusals.remove(refusal)) {
                        throw new IllegalStateException("unregistered twice");
                    }
                    return null;
                });
    }
}
