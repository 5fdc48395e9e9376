package org.servicefarm.itests;

import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.vmOption;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;

/**
 * How the tests boot the appliance: the assembled zip as it ships, on free ports, with the JVM
 * flags that bin/karaf would pass (Pax Exam does not pass them itself).
 */
final class ApplianceOptions {

    /** System property (inside the appliance) holding the HTTP port the tests chose. */
    static final String HTTP_PORT_PROPERTY = "servicefarm.it.http.port";
    /** System property (inside the appliance) holding the ssh port of its shell. */
    static final String SSH_PORT_PROPERTY = "servicefarm.it.ssh.port";

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private ApplianceOptions() {
    }

    static Option[] boot() {
        String karafVersion = System.getProperty("karaf.version", "4.4.10");
        String httpPort = freePort();
        String sshPort = freePort();
        List<Option> options = new ArrayList<>(List.of(
                karafDistributionConfiguration()
                        .frameworkUrl(assemblyUrl())
                        .karafVersion(karafVersion)
                        .name("ServiceFarm")
                        .unpackDirectory(new File("target/exam")),
                configureConsole().ignoreLocalConsole(),
                logLevel(LogLevel.WARN),
                // Ports of their own, so a running appliance or another build cannot clash (8181, 8101, 1099, 44444).
                editConfigurationFilePut("etc/org.ops4j.pax.web.cfg", "org.osgi.service.http.port", httpPort),
                editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", sshPort),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiRegistryPort", freePort()),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiServerPort", freePort()),
                // No shutdown socket (Pax Exam stops the container by ending its process): on a random port of its
                // own it can take the HTTP port picked above before the web server binds it; then every request
                // to the API is read as a wrong shutdown command and closed unanswered (ReuseSwapIT, once).
                editConfigurationFilePut("etc/config.properties", "karaf.shutdown.port", "-1"),
                editConfigurationFilePut("etc/org.apache.karaf.features.cfg", "updateSnapshots", "none"),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository",
                        System.getProperty("org.ops4j.pax.url.mvn.localRepository", "")),
                systemProperty(HTTP_PORT_PROPERTY).value(httpPort),
                systemProperty(SSH_PORT_PROPERTY).value(sshPort),
                // As in the assembly's bin/setenv: without it the JAX-RS API bundle fails to open (JDK 17.0.15+).
                // A system property would be set too late, after the JDK read it.
                vmOption("-Djdk.util.zip.disableZip64ExtraFieldValidation=true")));
        options.addAll(java9PlusFlags(karafVersion));
        return options.toArray(Option[]::new);
    }

    /**
     * The zip built in this reactor (failsafe passes its path); else the one installed in the
     * local Maven repository, for a run of this module alone.
     */
    private static String assemblyUrl() {
        String zip = System.getProperty("servicefarm.assembly.zip");
        if (zip != null && !zip.isBlank() && new File(zip).isFile()) {
            return new File(zip).toURI().toString();
        }
        return maven().groupId("org.servicefarm").artifactId("servicefarm-karaf-assembly").type("zip")
                .versionAsInProject().getURL();
    }

    /** The module flags of Karaf 4.4's bin/karaf for Java 9+, paths relative to the appliance's home. */
    private static List<Option> java9PlusFlags(String karafVersion) {
        List<Option> flags = new ArrayList<>();
        for (String flag : List.of(
                "--add-reads=java.xml=java.logging",
                "--add-exports=java.base/org.apache.karaf.specs.locator=java.xml,ALL-UNNAMED",
                "--patch-module", "java.base=lib/endorsed/org.apache.karaf.specs.locator-" + karafVersion + ".jar",
                "--patch-module", "java.xml=lib/endorsed/org.apache.karaf.specs.java.xml-" + karafVersion + ".jar",
                "--add-opens", "java.base/java.security=ALL-UNNAMED",
                "--add-opens", "java.base/java.net=ALL-UNNAMED",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.util=ALL-UNNAMED",
                "--add-opens", "java.naming/javax.naming.spi=ALL-UNNAMED",
                "--add-opens", "java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.file=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.ftp=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.content.text=ALL-UNNAMED",
                "--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED",
                "--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED",
                "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                "--add-exports=java.security.sasl/com.sun.security.sasl=ALL-UNNAMED",
                "--add-exports=java.naming/com.sun.jndi.ldap=ALL-UNNAMED",
                "-classpath", "lib/jdk9plus/*" + File.pathSeparator + "lib/boot/*")) {
            flags.add(vmOption(flag));
        }
        return flags;
    }

    /**
     * A port free now and not handed out before in this JVM: the kernel gives a port just closed again now and then
     * (measured here: 20 of 20,000 sets of four picks held a repeat), and two of an appliance's servers on one port
     * leave one of them unbound.
     */
    static String freePort() {
        while (true) {
            try (ServerSocket socket = new ServerSocket(0)) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return Integer.toString(socket.getLocalPort());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("no free local port", e);
            }
        }
    }
}
