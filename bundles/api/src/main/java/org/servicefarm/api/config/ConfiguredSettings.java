package org.servicefarm.api.config;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Pattern;

import org.apache.felix.cm.file.ConfigurationHandler;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.ComponentContext;
import org.osgi.util.converter.Converters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The settings one configured component runs on, and the one place its configuration is refused. A configuration
 * that does not parse (the component's parser throws, or a value cannot be converted to its type) is refused whole,
 * in one log line, and the component stays up on
 * <ul>
 *   <li>the settings in force before it, when it arrives while the component runs;</li>
 *   <li>at activation (a restart with the refused configuration still in Config Admin): the configuration the
 *       component accepted last, which this class keeps in the bundle's data area in Config Admin's own typed
 *       format, or the component's defaults when it never accepted one.</li>
 * </ul>
 * The refusal stands, as a registered {@link RefusedConfiguration}, until a configuration is accepted or
 * {@link #close()} is called (the component's deactivation). Without this, Declarative Services logs a stack trace
 * and, at activation, leaves the component away, and every component that needs it, until its bundle is restarted,
 * even once the configuration is mended: one typo in a catalog rule took the whole farm's API away at the next start.
 *
 * @param <C> the component property type Declarative Services builds from the configuration
 * @param <S> the settings the component parses it into
 */
public final class ConfiguredSettings<C, S> {

    private static final Logger LOG = LoggerFactory.getLogger(ConfiguredSettings.class);
    /** A pid names a file: nothing else gets there. */
    private static final Pattern SAFE_PID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    private static final String KEPT = "accepted-configuration";

    /**
     * The refusal each component said last, by pid and component: one whose instances come and go (the JAX-RS
     * whiteboard re-gets the login filter a dozen times around a change) says the same refusal once, not each time.
     */
    private static final Map<String, String> SAID = new ConcurrentHashMap<>();

    private final String pid;
    private final Class<C> type;
    private final BiFunction<? super C, Map<String, ?>, ? extends S> parse;
    /** Read on every decision of the component: a volatile read, no lock. */
    private volatile S inForce;
    private ServiceRegistration<RefusedConfiguration> refusal;
    private RefusedConfiguration refused;

    /**
     * @param pid   the configuration's pid
     * @param type  its component property type; its defaults are the settings of last resort
     * @param parse makes the settings of a configuration, throwing (any runtime exception) for one it refuses;
     *              nothing else: it may be called on the defaults or on the configuration accepted last
     */
    public ConfiguredSettings(String pid, Class<C> type, Function<? super C, ? extends S> parse) {
        this(pid, type, (config, properties) -> parse.apply(config));
        Objects.requireNonNull(parse, "parse");
    }

    /**
     * For a configuration with properties its type does not name (e.g. a catalog's {@code rule.*}).
     *
     * @param parse makes the settings of a configuration and all its properties, as {@link
     *              #ConfiguredSettings(String, Class, Function)}'s
     */
    public ConfiguredSettings(String pid, Class<C> type, BiFunction<? super C, Map<String, ?>, ? extends S> parse) {
        if (!SAFE_PID.matcher(pid).matches()) {
            throw new IllegalArgumentException("a pid of letters, digits, '.', '_' and '-' only: " + pid);
        }
        this.pid = pid;
        this.type = Objects.requireNonNull(type, "type");
        this.parse = Objects.requireNonNull(parse, "parse");
    }

    /**
     * The settings to run on after a configuration arrived: the component's activation or modification, whose
     * parameters these are. In a framework it throws for a bad configuration only when the component has nothing to
     * run on: none accepted before, and defaults that do not parse either (a configuration that must be given).
     *
     * @param context the component's context: its bundle's data area keeps the configuration accepted last, its
     *                bundle registers the refusal; {@code null} outside a framework (a unit test, the trace replay):
     *                then nothing is kept and a refusal is thrown to the caller, as nobody keeps the component up
     * @param config  the configuration as Declarative Services converted it
     * @throws RuntimeException without a context, for a configuration refused; with one, as said above
     */
    public S accept(ComponentContext context, C config) {
        return accept(context, config, context == null ? Map.of() : FrameworkUtil.asMap(context.getProperties()));
    }

    /**
     * {@link #accept(ComponentContext, Object)} for a parser that reads properties its type does not name, as
     * Declarative Services gave them: outside a framework the context is {@code null} but the properties are not.
     */
    public S accept(ComponentContext context, C config, Map<String, ?> properties) {
        if (context == null) {
            S settings = parse.apply(config, properties);
            inForce = settings;
            return settings;
        }
        return accept(context.getBundleContext(), config, properties);
    }

    /** In a framework: the context's bundle keeps and registers. */
    private synchronized S accept(BundleContext context, C config, Map<String, ?> properties) {
        // every value converted first: a component that reads a value only when it is used would fail then
        Optional<String> unconverted = unconverted(properties);
        if (unconverted.isPresent()) {
            return refuse(context, properties, unconverted.get());
        }
        S settings;
        try {
            settings = parse.apply(config, properties);
        } catch (RuntimeException e) {
            return refuse(context, properties, reason(e));
        }
        inForce = settings;
        keep(context, properties);
        SAID.remove(pid + " " + component(properties));
        if (refused != null) {
            LOG.info("The configuration {} is accepted; its refusal of {} is withdrawn", pid,
                    refused.since().truncatedTo(ChronoUnit.SECONDS));
            withdraw();
        }
        return settings;
    }

    /** The settings in force, or {@code null} before the first {@link #accept}. */
    public S inForce() {
        return inForce;
    }

    /** The refusal that stands, or {@code null}. */
    public synchronized RefusedConfiguration refused() {
        return refused;
    }

    /** Withdraws a refusal that stands: the component goes away. */
    public synchronized void close() {
        withdraw();
    }

    private S refuse(BundleContext context, Map<String, ?> properties, String reason) {
        String instead;
        if (inForce != null) {
            instead = "the settings before it stay in force";
        } else {
            Kept<S> kept = kept(context, properties);
            if (kept != null) {
                inForce = kept.settings();
                instead = "the configuration accepted last (" + kept.at() + ") is in force";
            } else {
                Map<String, Object> none = Collections.emptyMap();
                try {
                    inForce = parse.apply(Converters.standardConverter().convert(none).to(type), none);
                } catch (RuntimeException e) {
                    // a component whose configuration is required (a URL, a login): it cannot run on its defaults
                    LOG.error("The configuration {} is refused, and without one accepted before nor defaults that "
                            + "do, the component does not run: {}", pid, reason);
                    throw new IllegalArgumentException(reason, e);
                }
                instead = "the defaults are in force";
            }
        }
        String said = instead + ": " + reason;
        if (said.equals(SAID.put(pid + " " + component(properties), said))) {
            LOG.debug("The configuration {} is refused again, {}: {}", pid, instead, reason);
        } else {
            LOG.error("The configuration {} is refused, {}: {}", pid, instead, reason);
        }
        withdraw();
        refused = new RefusedConfiguration(pid, reason, instead, Instant.now());
        if (context != null) {
            try {
                refusal = context.registerService(RefusedConfiguration.class, refused,
                        FrameworkUtil.asDictionary(Map.of(RefusedConfiguration.PID, pid)));
            } catch (IllegalStateException stopping) {
                // the bundle is going: nobody is left to show the refusal to
            }
        }
        return inForce;
    }

    private void withdraw() {
        refused = null;
        if (refusal != null) {
            try {
                refusal.unregister();
            } catch (IllegalStateException gone) {
                // unregistered with its bundle already
            }
            refusal = null;
        }
    }

    /**
     * The first property of the type's that Declarative Services cannot convert, said with its key ("sleep.after.s:
     * 'abc' is not a whole number"): its own exception names neither, and comes only when the value is read.
     */
    private Optional<String> unconverted(Map<String, ?> properties) {
        for (Method method : type.getDeclaredMethods()) {
            if (method.getParameterCount() != 0 || Modifier.isStatic(method.getModifiers())) {
                continue;
            }
            String key = key(method.getName());
            Object value = properties.get(key);
            if (value == null) {
                continue;
            }
            try {
                Converters.standardConverter().convert(value).to(method.getGenericReturnType());
            } catch (RuntimeException e) {
                return Optional.of(key + ": '" + value + "' is not " + kind(method.getReturnType()));
            }
        }
        return Optional.empty();
    }

    /** A component property type's method name as its property's key (Declarative Services 1.4, 112.8.2.1). */
    static String key(String method) {
        StringBuilder key = new StringBuilder();
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            boolean more = i + 1 < method.length();
            if (c == '$' && more && method.charAt(i + 1) == '$') {
                key.append('$');
                i++;
            } else if (c == '$' && i + 2 < method.length() && method.charAt(i + 1) == '_' && method.charAt(i + 2) == '$') {
                key.append('-');
                i += 2;
            } else if (c == '$') {
                continue; // a single dollar sign is left out
            } else if (c == '_' && more && method.charAt(i + 1) == '_') {
                key.append('_');
                i++;
            } else if (c == '_') {
                key.append('.');
            } else {
                key.append(c);
            }
        }
        return key.toString();
    }

    private static String kind(Class<?> type) {
        if (type == long.class || type == int.class || type == short.class || type == byte.class
                || type == long[].class || type == int[].class) {
            return "a whole number";
        }
        if (type == double.class || type == float.class || type == double[].class || type == float[].class) {
            return "a number";
        }
        return "a " + type.getSimpleName();
    }

    /** What is wrong, in one line: the parser's words, or a conversion's. */
    private static String reason(RuntimeException e) {
        String message = e.getMessage();
        String text = e instanceof IllegalArgumentException && message != null ? message : e.toString();
        return text.replaceAll("\\s+", " ");
    }

    private record Kept<T>(T settings, Instant at) {
    }

    /**
     * One file per component, not per pid: components reading parts of one configuration (the manager's is read by
     * three) each keep what they accepted, which another may have refused.
     */
    /** {@code null} where the framework gives the bundle no file system. */
    private File keptFile(BundleContext context, Map<String, ?> properties) {
        return context.getDataFile(KEPT + "/" + pid + "/" + component(properties) + ".config");
    }

    /** The component's name, as a file's name may be made of it; the pid for one without a name. */
    private String component(Map<String, ?> properties) {
        Object name = properties.get("component.name");
        return name != null && SAFE_PID.matcher(name.toString()).matches() ? name.toString() : pid;
    }

    private void keep(BundleContext context, Map<String, ?> properties) {
        File file = keptFile(context, properties);
        if (file == null) {
            return;
        }
        Hashtable<String, Object> values = new Hashtable<>();
        properties.forEach((key, value) -> {
            // the component's identity in this framework is not configuration; a private property (a password) is
            // not copied: without it, the configuration kept does not parse and the defaults are in force instead
            if (value != null && !key.equals("component.id") && !key.equals("component.name")
                    && !key.startsWith(".")) {
                values.put(key, value);
            }
        });
        try {
            Path target = file.toPath();
            Files.createDirectories(target.getParent());
            Path written = Files.createTempFile(target.getParent(), pid, ".tmp");
            try (OutputStream out = Files.newOutputStream(written)) {
                ConfigurationHandler.write(out, values);
            }
            Files.move(written, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // not kept: a restart with a refused configuration would fall back to the defaults instead
            LOG.warn("The configuration {} is in force but could not be kept in {}: {}", pid, file, e.toString());
        }
    }

    private Kept<S> kept(BundleContext context, Map<String, ?> properties) {
        File file = keptFile(context, properties);
        if (file == null || !file.isFile()) {
            return null;
        }
        try (InputStream in = Files.newInputStream(file.toPath())) {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = FrameworkUtil.asMap((Dictionary<String, Object>) ConfigurationHandler.read(in));
            C config = Converters.standardConverter().convert(map).to(type);
            return new Kept<>(parse.apply(config, map), Files.getLastModifiedTime(file.toPath()).toInstant()
                    .truncatedTo(ChronoUnit.SECONDS));
        } catch (IOException | RuntimeException e) {
            LOG.warn("The configuration {} accepted last, kept in {}, cannot be read: {}", pid, file, e.toString());
            return null;
        }
    }
}
