package org.servicefarm.shell.internal;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;

import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.ShellUtil;

/** What a Karaf 4.4 session prints when a command throws: Karaf's own ShellUtil.logException, on a session double. */
final class KarafConsole {

    private KarafConsole() {
    }

    static String shown(Throwable failure) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Session session = (Session) Proxy.newProxyInstance(KarafConsole.class.getClassLoader(),
                new Class<?>[] {Session.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getConsole" -> console;
                    case "get", "put" -> null;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        ShellUtil.logException(session, failure);
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
