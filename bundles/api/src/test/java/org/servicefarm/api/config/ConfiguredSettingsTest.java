package org.servicefarm.api.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.component.ComponentContext;
import org.osgi.util.converter.Converters;
import org.servicefarm.api.testing.TestComponentContext;

class ConfiguredSettingsTest {

    @interface Config {
        long size() default 3;

        String[] names() default {"a"};
    }

    record Settings(long size, List<String> names) {
    }

    static Settings parse(Config c) {
        if (c.size() < 0) {
            throw new IllegalArgumentException("size must not be negative, not " + c.size());
        }
        return new Settings(c.size(), List.of(c.names()));
    }

    @TempDir
    Path data;

    TestComponentContext framework;

    /** A context of the component's bundle, whose data area outlives the component (a restart keeps it). */
    ComponentContext context(Map<String, Object> properties) {
        if (framework == null) {
            framework = new TestComponentContext(data);
        }
        return framework.with(properties);
    }

    List<RefusedConfiguration> registered() {
        return framework == null ? List.of() : framework.refusals;
    }

    static Map<String, Object> properties(Object... keysAndValues) {
        Map<String, Object> map = new java.util.HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        map.put("component.name", "a.Component");
        map.put("component.id", 7L);
        return map;
    }

    static Config config(Map<String, Object> properties) {
        return Converters.standardConverter().convert(properties).to(Config.class);
    }

    ConfiguredSettings<Config, Settings> settings() {
        return new ConfiguredSettings<>("org.example.thing", Config.class, ConfiguredSettingsTest::parse);
    }

    @Test
    void aConfigurationThatParsesIsInForceAndNothingIsRefused() {
        ConfiguredSettings<Config, Settings> settings = settings();
        Map<String, Object> p = properties("size", 5L, "names", new String[]{"x", "y"});
        assertEquals(new Settings(5, List.of("x", "y")), settings.accept(context(p), config(p)));
        assertNull(settings.refused());
        assertTrue(registered().isEmpty());
    }

    @Test
    void aBadConfigurationWhileRunningLeavesTheSettingsBeforeItAndStandsRefusedUntilAGoodOne() {
        ConfiguredSettings<Config, Settings> settings = settings();
        Map<String, Object> good = properties("size", 5L);
        settings.accept(context(good), config(good));

        Map<String, Object> bad = properties("size", -1L);
        assertEquals(new Settings(5, List.of("a")), settings.accept(context(bad), config(bad)));
        RefusedConfiguration refusal = settings.refused();
        assertEquals("org.example.thing", refusal.pid());
        assertEquals("size must not be negative, not -1", refusal.reason());
        assertEquals("the settings before it stay in force", refusal.inForce());
        assertEquals(List.of(refusal), registered());

        // a value that does not convert is refused the same way, and replaces the refusal before it
        Map<String, Object> typo = properties("size", "12x");
        assertEquals(new Settings(5, List.of("a")), settings.accept(context(typo), config(typo)));
        assertEquals(1, registered().size());
        assertEquals("size: '12x' is not a whole number", registered().get(0).reason());

        Map<String, Object> mended = properties("size", 6L);
        assertEquals(new Settings(6, List.of("a")), settings.accept(context(mended), config(mended)));
        assertNull(settings.refused());
        assertTrue(registered().isEmpty());
    }

    @Test
    void aRestartWithARefusedConfigurationRunsOnTheOneAcceptedLast() {
        Map<String, Object> good = properties("size", 9L, "names", new String[]{"p", "q"});
        settings().accept(context(good), config(good));

        // the bad one was refused while running, so it is what Config Admin gives the component at the next start
        ConfiguredSettings<Config, Settings> restarted = settings();
        Map<String, Object> bad = properties("size", -3L);
        assertEquals(new Settings(9, List.of("p", "q")), restarted.accept(context(bad), config(bad)));
        assertTrue(restarted.refused().inForce().startsWith("the configuration accepted last ("),
                restarted.refused().inForce());
        assertEquals(1, registered().size());
    }

    @Test
    void aComponentWhoseDefaultsDoNotParseDoesNotRunOnThem() {
        ConfiguredSettings<Config, Settings> required = new ConfiguredSettings<>("org.example.required", Config.class,
                c -> {
                    if (c.names().length < 2) {
                        throw new IllegalArgumentException("two names are required");
                    }
                    return parse(c);
                });
        Map<String, Object> bad = properties("names", new String[]{"one"});
        assertEquals("two names are required", assertThrows(IllegalArgumentException.class,
                () -> required.accept(context(bad), config(bad))).getMessage());
        assertTrue(registered().isEmpty(), "nothing in force, nothing to show: the component is not there");
    }

    @Test
    void whatIsShownIsTheLatestRefusalOfEachPid() {
        Instant t = Instant.parse("2026-11-27T19:00:00Z");
        RefusedConfiguration manager = new RefusedConfiguration("org.servicefarm.core", "port", "before", t);
        RefusedConfiguration ports = new RefusedConfiguration("org.servicefarm.core", "port", "defaults",
                t.plusSeconds(1));
        RefusedConfiguration catalog = new RefusedConfiguration("org.servicefarm.catalog", "rule", "before", t);
        assertEquals(List.of(catalog, ports), RefusedConfiguration.latestByPid(List.of(manager, ports, catalog)));
        assertEquals(List.of(), RefusedConfiguration.latestByPid(List.of()));
    }

    @interface SizeOnly {
        long size() default 3;
    }

    @Test
    void eachComponentOfOnePidKeepsWhatItAcceptedItself() {
        // a second component reads only the size: it accepts what the first refuses, and must not keep it for it
        Map<String, Object> good = properties("size", 5L, "names", new String[]{"x"});
        settings().accept(context(good), config(good));
        Map<String, Object> bad = properties("size", 6L, "names", new String[]{"x"}, "extra", "only the first minds");
        Map<String, Object> badForOther = new java.util.HashMap<>(bad);
        badForOther.put("component.name", "b.Other");
        new ConfiguredSettings<>("org.example.thing", SizeOnly.class, SizeOnly::size).accept(context(badForOther),
                Converters.standardConverter().convert(badForOther).to(SizeOnly.class));

        ConfiguredSettings<Config, Settings> restarted = new ConfiguredSettings<>("org.example.thing", Config.class,
                (c, p) -> {
                    if (p.containsKey("extra")) {
                        throw new IllegalArgumentException("extra is not a setting");
                    }
                    return parse(c);
                });
        assertEquals(new Settings(5, List.of("x")), restarted.accept(context(bad), config(bad)),
                "its own configuration accepted last, not the other's");
    }

    @Test
    void aPrivatePropertyIsNotKept() throws Exception {
        Map<String, Object> good = properties("size", 9L, ".password", "secret");
        settings().accept(context(good), config(good));
        String kept = Files.readString(data.resolve("accepted-configuration/org.example.thing/a.Component.config"));
        assertTrue(kept.contains("size=L\"9\""), kept);
        assertFalse(kept.contains("secret"), kept);
    }

    @Test
    void withNothingAcceptedBeforeARefusedConfigurationGivesTheDefaults() throws Exception {
        ConfiguredSettings<Config, Settings> settings = settings();
        Map<String, Object> bad = properties("size", -3L);
        assertEquals(new Settings(3, List.of("a")), settings.accept(context(bad), config(bad)));
        assertEquals("the defaults are in force", settings.refused().inForce());

        // a kept file that no longer parses is passed over the same way
        Path kept = data.resolve("accepted-configuration/org.example.thing/a.Component.config");
        Files.createDirectories(kept.getParent());
        Files.writeString(kept, "size=L\"-4\"\n");
        ConfiguredSettings<Config, Settings> again = settings();
        assertEquals(new Settings(3, List.of("a")), again.accept(context(bad), config(bad)));
    }

    @Test
    void aPropertysKeyIsItsMethodsNameAsDeclarativeServicesMakesIt() {
        assertEquals("sleep.after.s", ConfiguredSettings.key("sleep_after_s"));
        assertEquals("inDemand.requestsPerMinute", ConfiguredSettings.key("inDemand_requestsPerMinute"));
        assertEquals("service_ranking", ConfiguredSettings.key("service__ranking"));
        assertEquals("a-b$c", ConfiguredSettings.key("a$_$b$$c$"));
    }

    @Test
    void closingWithdrawsTheRefusalAndOutsideAFrameworkTheCallerHearsIt() {
        ConfiguredSettings<Config, Settings> settings = settings();
        Map<String, Object> bad = properties("size", -3L);
        settings.accept(context(bad), config(bad));
        assertEquals(1, registered().size());
        settings.close();
        assertTrue(registered().isEmpty());
        assertNull(settings.refused());

        ConfiguredSettings<Config, Settings> alone = settings();
        assertEquals(new Settings(4, List.of("a")), alone.accept((ComponentContext) null, config(properties("size", 4L))));
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> alone.accept((ComponentContext) null, config(bad)));
        assertEquals("size must not be negative, not -3", refused.getMessage());
        assertEquals(new Settings(4, List.of("a")), alone.inForce());
        assertNull(alone.refused());
        assertThrows(IllegalArgumentException.class,
                () -> new ConfiguredSettings<>("../etc/passwd", Config.class, ConfiguredSettingsTest::parse));
    }
}
