package org.servicefarm.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.support.completers.ArgumentCommandLine;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.apache.karaf.shell.support.parsing.CommandLineImpl;
import org.junit.jupiter.api.Test;
import org.servicefarm.api.ArchiveTier;
import org.servicefarm.api.Capacity;
import org.servicefarm.api.CatalogComponent;
import org.servicefarm.api.CatalogComponent.Kind;
import org.servicefarm.api.DirectoryView;
import org.servicefarm.api.Endpoint;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.HostStatus;
import org.servicefarm.api.VmRecord;
import org.servicefarm.api.VmState;
import org.servicefarm.api.testing.ListedFarm;

/** The one completer: which option or argument the cursor is on, the set its name stands for, and every command. */
class FarmCompleterTest {

    static DirectoryView directory() {
        return (DirectoryView) Proxy.newProxyInstance(FarmCompleterTest.class.getClassLoader(),
                new Class<?>[] {DirectoryView.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "components" -> List.of(
                            new CatalogComponent(Kind.APPLICATION, "wiki", "2.1"),
                            new CatalogComponent(Kind.APPLICATION, "wiki", "2.0"),
                            new CatalogComponent(Kind.APPLICATION, "blog", "1.0"),
                            new CatalogComponent(Kind.OS, "debian-12", null),
                            new CatalogComponent(Kind.OS, "alpine-3.20", null),
                            new CatalogComponent(Kind.SERVER, "nginx-1.22", null),
                            new CatalogComponent(Kind.RUNTIME, "php-8.2", null),
                            new CatalogComponent(Kind.PATCH, "cve-1", null));
                    case "securityLevels" -> List.of("standard", "high");
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    static HostStatus host(String name) {
        return new HostStatus(new HostRecord(name, "libvirt", "test:///default", new Capacity(4, 4096, 4), 0.01,
                "standard", Map.of()), Capacity.ZERO, true, null);
    }

    static VmRecord vm(String id) {
        return new VmRecord(id, "alpha", "img", BuildCommandTest.WIKI, Map.of("wiki", new Endpoint("127.0.0.1", 22000)),
                VmState.ACTIVE, new Capacity(1, 256, 1), Instant.EPOCH, null, 0, null);
    }

    private final FarmCompleter completer = completer();

    private static FarmCompleter completer() {
        ListedFarm farm = new ListedFarm().withDirectory(directory());
        farm.hosts.add(host("alpha"));
        farm.hosts.add(host("beta"));
        farm.vms.add(vm("sf-1"));
        farm.vms.add(vm("sf-2"));
        FarmCompleter completer = new FarmCompleter();
        completer.manager = farm;
        completer.metrics = () -> "# HELP servicefarm_vms VMs\n# TYPE servicefarm_vms gauge\nservicefarm_vms{state=\"ACTIVE\"} 2\n"
                + "# TYPE servicefarm_keepalive_decisions_total counter\n";
        return completer;
    }

    /** The command line as Karaf passes it while {@code typed} is in the buffer, the cursor at its end. */
    static CommandLine typed(String typed) {
        List<String> words = new ArrayList<>(Arrays.asList(typed.split(" ", -1)));
        String last = words.get(words.size() - 1);
        return new CommandLineImpl(words.toArray(String[]::new), words.size() - 1, last.length(), typed.length(), typed);
    }

    /** What TAB offers after {@code typed}. */
    private List<String> tab(String typed) {
        List<String> candidates = new ArrayList<>();
        completer.complete(null, typed(typed), candidates);
        return candidates.stream().map(String::trim).toList();
    }

    @Test
    void eachOptionAndArgumentCompletesFromItsOwnSet() {
        assertEquals(List.of("blog", "wiki"), tab("farm:request "), "SERVICE: applications, once each");
        assertEquals(List.of("alpine-3.20", "debian-12"), tab("farm:request --os "));
        assertEquals(List.of("debian-12"), tab("farm:request --os deb"), "what is typed narrows it");
        assertEquals(List.of("nginx-1.22"), tab("farm:build --server "));
        assertEquals(List.of("php-8.2"), tab("farm:explain --runtime "));
        assertEquals(List.of("cve-1"), tab("farm:request --patch cve-1 --patch "));
        assertEquals(List.of("high", "standard"), tab("farm:request --security-level "));
        assertEquals(List.of("wiki"), tab("farm:request --os debian-12 --tier gold w"), "after options: SERVICE");
        assertEquals(List.of("blog", "wiki"), tab("farm:build --no-wait "), "a boolean option takes no value");
        assertEquals(List.of("sf-1", "sf-2"), tab("farm:sleep "));
        assertEquals(List.of("sf-2"), tab("farm:archive --tier SAVED sf-2"));
        assertEquals(List.of("sf-1", "sf-2"), tab("farm:vm "));
        assertEquals(List.of("alpha", "beta"), tab("farm:migrate sf-1 "), "the second argument: HOST");
        assertEquals(List.of("beta"), tab("drain b"), "the command named without its scope");
        assertEquals(List.of("alpha", "beta"), tab("farm:host-remove "));
        assertEquals(List.of("high", "standard"), tab("farm:host-add --security-zone "));
        assertEquals(List.of("servicefarm_keepalive_decisions_total", "servicefarm_vms"),
                tab("farm:metrics servicefarm_vms "), "METRIC is multi-valued");
        assertEquals(List.of(), tab("farm:request --tier "), "customer tiers are no known set");
        assertEquals(List.of(), tab("farm:host-add "), "a new host's name is not completed");
        assertEquals(List.of(), tab("farm:nosuch "));
        assertEquals(List.of(), tab("farm:request --nosuch "));
    }

    @Test
    void anEarlierArgumentCheckedOnItsOwnPasses() {
        List<String> candidates = new ArrayList<>();
        completer.complete(null, new ArgumentCommandLine("sf-9", 4), candidates);
        assertEquals(List.of("sf-9 "), candidates, "Karaf completes farm:migrate's HOST only if VM passes");
    }

    @Test
    void withoutImagesOrMetricsTheirSetsAreEmpty() {
        completer.metrics = null;
        assertEquals(List.of(), tab("farm:metrics "));
        assertEquals(List.of(), tab("farm:image "));
    }

    /** Every command class of the bundle, found as Karaf finds them: the classes with @Command in the package. */
    static List<Class<?>> commands() throws IOException, URISyntaxException {
        Path dir = Path.of(FarmCompleter.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(FarmCompleter.class.getPackageName().replace('.', '/'));
        List<Class<?>> commands = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                if (name.endsWith(".class") && !name.contains("$")) {
                    try {
                        Class<?> type = Class.forName(FarmCompleter.class.getPackageName() + "."
                                + name.substring(0, name.length() - 6));
                        if (type.isAnnotationPresent(Command.class)) {
                            commands.add(type);
                        }
                    } catch (ClassNotFoundException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }
        return commands;
    }

    @Test
    void everyCommandIsFoundByItsNameHasHelpAndCompletesOnlyKnownSets() throws Exception {
        List<Class<?>> commands = commands();
        assertEquals(33, commands.size(), commands.toString());
        for (Class<?> type : commands) {
            Command command = type.getAnnotation(Command.class);
            assertEquals("farm", command.scope());
            assertEquals(type, FarmCompleter.commandClass("farm:" + command.name()), "found by its name: " + type);
            assertTrue(command.description().length() > 20, "--help says what it does: " + type);
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                for (Field field : c.getDeclaredFields()) {
                    Option option = field.getAnnotation(Option.class);
                    Argument argument = field.getAnnotation(Argument.class);
                    if (option == null && argument == null) {
                        continue;
                    }
                    String name = option != null ? option.name() : argument.name();
                    String description = option != null ? option.description() : argument.description();
                    assertTrue(description.length() > 5, "--help describes " + type.getSimpleName() + " " + name);
                    Completion completion = field.getAnnotation(Completion.class);
                    if (completion != null && completion.value() == FarmCompleter.class) {
                        assertNotNull(FarmCompleter.SETS.get(name), type.getSimpleName() + " " + name
                                + " completes from no known set");
                    }
                    if (completion == null) {
                        assertNull(FarmCompleter.SETS.get(name), type.getSimpleName() + " " + name
                                + " names a known set but does not complete it");
                    }
                }
            }
        }
    }

    @Test
    void archiveTiersCompleteFromTheirFixedList() throws Exception {
        Completion tiers = ArchiveCommand.class.getDeclaredField("tier").getAnnotation(Completion.class);
        assertEquals(StringsCompleter.class, tiers.value());
        assertEquals(Arrays.stream(ArchiveTier.values()).map(Enum::name).toList(), List.of(tiers.values()));
    }
}
