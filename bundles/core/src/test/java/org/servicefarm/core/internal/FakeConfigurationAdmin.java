package org.servicefarm.core.internal;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Configuration Admin for the core's tests, with SCR's part played too: a host factory configuration
 * that is saved becomes a {@link HostConfiguration} bound to the registry, one that is deleted is unbound.
 * Only what the host registry calls is there.
 */
final class FakeConfigurationAdmin {

    /** Saved configurations by PID. */
    final Map<String, Dictionary<String, Object>> saved = new ConcurrentHashMap<>();
    /** How many times a configuration was written. */
    final AtomicInteger writes = new AtomicInteger();
    private final Map<String, HostConfiguration> components = new ConcurrentHashMap<>();
    private final HostRegistry registry;

    FakeConfigurationAdmin(HostRegistry registry) {
        this.registry = registry;
    }

    ConfigurationAdmin service() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getFactoryConfiguration" -> configuration(args[0] + "~" + args[1], (String) args[0]);
                    case "listConfigurations" -> list((String) args[0]);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** Saves a host configuration as if an etc/ file had been read (no registry check on the way). */
    void configureFile(String name, Map<String, Object> properties) throws Exception {
        Dictionary<String, Object> dictionary = new Hashtable<>(properties);
        configuration(HostConfiguration.FACTORY_PID + "~" + name, HostConfiguration.FACTORY_PID).update(dictionary);
    }

    private Configuration[] list(String filterText) throws Exception {
        Filter filter = FrameworkUtil.createFilter(filterText);
        List<Configuration> found = new ArrayList<>();
        for (Map.Entry<String, Dictionary<String, Object>> entry : saved.entrySet()) {
            if (filter.match(entry.getValue())) {
                found.add(configuration(entry.getKey(), HostConfiguration.FACTORY_PID));
            }
        }
        return found.isEmpty() ? null : found.toArray(Configuration[]::new);
    }

    private Configuration configuration(String pid, String factoryPid) {
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Configuration.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getPid" -> pid;
                    case "getFactoryPid" -> factoryPid;
                    case "getProperties" -> saved.get(pid);
                    case "update" -> {
                        update(pid, factoryPid, castDictionary(args[0]));
                        yield null;
                    }
                    case "delete" -> {
                        delete(pid);
                        yield null;
                    }
                    case "hashCode" -> pid.hashCode();
                    case "equals" -> proxy == args[0];
                    case "toString" -> "configuration " + pid;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @SuppressWarnings("unchecked")
    private static Dictionary<String, Object> castDictionary(Object dictionary) {
        return (Dictionary<String, Object>) dictionary;
    }

    private void update(String pid, String factoryPid, Dictionary<String, Object> properties) {
        writes.incrementAndGet();
        Hashtable<String, Object> copy = new Hashtable<>();
        for (String key : Collections.list(properties.keys())) {
            copy.put(key, properties.get(key));
        }
        copy.put("service.pid", pid);
        copy.put("service.factoryPid", factoryPid);
        saved.put(pid, copy);
        Map<String, Object> map = new HashMap<>();
        copy.forEach(map::put);
        HostConfiguration component = new HostConfiguration();
        component.activate(Farm.convert(map, HostConfiguration.Config.class), map); // throws as SCR would log
        components.put(pid, component);
        registry.addHost(component);
    }

    private void delete(String pid) {
        saved.remove(pid);
        HostConfiguration component = components.remove(pid);
        if (component != null) {
            registry.removeHost(component);
        }
    }
}
