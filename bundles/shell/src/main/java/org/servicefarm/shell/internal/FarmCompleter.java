package org.servicefarm.shell.internal;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.LocalServiceManager;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.driver.HypervisorDriver;
import org.servicefarm.api.image.ImageService;
import org.servicefarm.api.image.ImageStatus;
import org.servicefarm.api.metrics.Metrics;

/**
 * The one completer of every farm command: {@code @Completion(FarmCompleter.class)} on an option or argument, and the
 * values offered are those of the set its name stands for ({@link #SETS}: {@code --os} the directory's operating
 * systems, {@code VM} the state table's VMs, {@code HOST} the hosts, ...), read when TAB is pressed.
 * <p>
 * Karaf finds a completer by its class, one instance for all the fields naming it, and tells it only the command line.
 * So this completer works out which option or argument the cursor is on the way Karaf reads the line: the command's
 * class by its name ({@code farm:host-add} is {@code HostAddCommand} in this package), then options first, each but a
 * boolean taking the next word as its value, then the arguments by index. A name means the same set in every farm
 * command; a field whose values are a fixed list uses Karaf's {@code @Completion(value = StringsCompleter.class,
 * values = {...})} instead (farm:archive's {@code --tier}).
 */
@Service
public class FarmCompleter implements Completer {

    /** The sets completion offers values from. */
    enum Known {
        APPLICATIONS, OPERATING_SYSTEMS, SERVERS, RUNTIMES, PATCHES, SECURITY_LEVELS, VMS, HOSTS, IMAGES, DRIVERS,
        METRICS
    }

    /** What each option or argument name completes from, in every command that has it. */
    static final Map<String, Known> SETS = Map.ofEntries(
            Map.entry("SERVICE", Known.APPLICATIONS),
            Map.entry("--os", Known.OPERATING_SYSTEMS),
            Map.entry("--server", Known.SERVERS),
            Map.entry("--runtime", Known.RUNTIMES),
            Map.entry("--patch", Known.PATCHES),
            Map.entry("--security-level", Known.SECURITY_LEVELS),
            Map.entry("--security-zone", Known.SECURITY_LEVELS),
            Map.entry("VM", Known.VMS),
            Map.entry("HOST", Known.HOSTS),
            Map.entry("--host", Known.HOSTS),
            Map.entry("IMAGE", Known.IMAGES),
            Map.entry("--driver", Known.DRIVERS),
            Map.entry("METRIC", Known.METRICS));

    @Reference
    LocalServiceManager manager;

    @Reference(optional = true)
    ImageService images;

    /** Absent without the metrics bundle: no metric names then. */
    @Reference(optional = true)
    Metrics metrics;

    @Reference
    BundleContext context;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        return new StringsCompleter(values(commandLine)).complete(session, commandLine, candidates);
    }

    /** The values for the word under the cursor. */
    List<String> values(CommandLine commandLine) {
        String[] words = commandLine.getArguments();
        int at = commandLine.getCursorArgumentIndex();
        if (at <= 0) {
            // Karaf checks each earlier argument against its completer on its own, without the command: let it pass,
            // so that a name completion does not know yet (a new host's) does not stop the next argument's completion
            return words.length == 0 ? List.of() : List.of(words[0]);
        }
        Class<?> command = commandClass(words[0]);
        String name = command == null ? null : completing(command, words, at);
        Known known = name == null ? null : SETS.get(name);
        return known == null ? List.of() : values(known);
    }

    /** The command's class: {@code farm:host-add} (or {@code host-add} in the farm scope) is HostAddCommand. */
    static Class<?> commandClass(String word) {
        String name = word.substring(word.indexOf(':') + 1);
        StringBuilder simple = new StringBuilder();
        for (String part : name.split("-")) {
            if (part.isEmpty()) {
                return null;
            }
            simple.append(part.substring(0, 1).toUpperCase(Locale.ROOT)).append(part.substring(1));
        }
        try {
            Class<?> type = Class.forName(FarmCompleter.class.getPackageName() + "." + simple + "Command", false,
                    FarmCompleter.class.getClassLoader());
            Command annotation = type.getAnnotation(Command.class);
            return annotation != null && annotation.name().equals(name) ? type : null;
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    /**
     * The name of the option ({@link Option#name()}) or argument ({@link Argument#name()}) of {@code command} that
     * word {@code at} of {@code words} ({@code words[0]} the command) fills, or null for none.
     */
    static String completing(Class<?> command, String[] words, int at) {
        Map<String, Option> options = new HashMap<>();
        Map<String, Boolean> flags = new HashMap<>();
        Map<Integer, Argument> arguments = new HashMap<>();
        for (Class<?> type = command; type != null; type = type.getSuperclass()) {
            for (Field field : type.getDeclaredFields()) {
                Option option = field.getAnnotation(Option.class);
                if (option != null) {
                    boolean flag = field.getType() == boolean.class || field.getType() == Boolean.class;
                    List<String> names = new ArrayList<>(List.of(option.aliases()));
                    names.add(option.name());
                    for (String name : names) {
                        options.put(name, option);
                        flags.put(name, flag);
                    }
                }
                Argument argument = field.getAnnotation(Argument.class);
                if (argument != null) {
                    arguments.putIfAbsent(argument.index(), argument);
                }
            }
        }
        int word = 1;
        while (word < at && words[word].startsWith("-")) {
            Option option = options.get(words[word]);
            if (option == null) {
                return null;
            }
            if (!flags.get(words[word]) && ++word == at) {
                return option.name();
            }
            word++;
        }
        int index = at - word;
        Argument argument = arguments.get(index);
        for (int i = index - 1; argument == null && i >= 0; i--) {
            Argument earlier = arguments.get(i);
            argument = earlier != null && earlier.multiValued() ? earlier : null;
        }
        return argument == null ? null : argument.name();
    }

    /** The values of one set, sorted, without duplicates; empty while its source is absent. */
    List<String> values(Known known) {
        TreeSet<String> values = new TreeSet<>();
        switch (known) {
            case APPLICATIONS -> values.addAll(names(CatalogComponent.Kind.APPLICATION));
            case OPERATING_SYSTEMS -> values.addAll(names(CatalogComponent.Kind.OS));
            case SERVERS -> values.addAll(names(CatalogComponent.Kind.SERVER));
            case RUNTIMES -> values.addAll(names(CatalogComponent.Kind.RUNTIME));
            case PATCHES -> values.addAll(names(CatalogComponent.Kind.PATCH));
            case SECURITY_LEVELS -> values.addAll(manager.directory().securityLevels());
            case VMS -> manager.stateTable().vms().stream().map(VmRecord::id).forEach(values::add);
            case HOSTS -> manager.hosts().stream().map(HostStatus::name).forEach(values::add);
            case IMAGES -> {
                ImageService store = images;
                if (store != null) {
                    store.images().stream().map(ImageStatus::id).forEach(values::add);
                }
            }
            case DRIVERS -> values.addAll(drivers());
            case METRICS -> {
                Metrics farm = metrics;
                if (farm != null) {
                    values.addAll(MetricsCommand.families(farm.scrape()));
                }
            }
        }
        return List.copyOf(values);
    }

    private List<String> names(CatalogComponent.Kind kind) {
        return manager.directory().components().stream().filter(c -> c.kind() == kind).map(CatalogComponent::name)
                .toList();
    }

    /** The names of the hypervisor drivers installed. */
    private List<String> drivers() {
        List<String> names = new ArrayList<>();
        try {
            for (ServiceReference<HypervisorDriver> driver : context.getServiceReferences(HypervisorDriver.class, null)) {
                Object name = driver.getProperty(HypervisorDriver.NAME);
                if (name != null) {
                    names.add(name.toString());
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e); // no filter given
        }
        return names;
    }
}
