package org.servicefarm.shell.internal;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Instant;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.servicefarm.api.keepalive.KeepAliveView;

/**
 * farm:keepalive: the keep-alive policy in force and what it has learned of each combination. Spelt so because the
 * completer finds a command by its name ({@code keepalive}: {@code KeepaliveCommand}).
 */
@Command(scope = "farm", name = "keepalive", description = "Shows the keep-alive policy in force and, for each "
        + "combination it was told of (of one service if named), its reading of the requests and when it next wants a "
        + "VM of it in memory.")
@Service
public class KeepaliveCommand implements Action {

    @Argument(index = 0, name = "SERVICE", description = "Only this service's combinations (all when left out)")
    @Completion(FarmCompleter.class)
    String service;

    @Reference
    KeepAliveView keepAlive;

    PrintStream out = System.out;

    Clock clock = Clock.systemUTC();

    @Override
    public Object execute() {
        String policy = keepAlive.policy().orElse(null);
        if (policy == null) {
            out.println("No keep-alive policy in force: VMs stay as they are (policy.target in "
                    + "etc/org.servicefarm.lifecycle.cfg).");
            return null;
        }
        out.println("Keep-alive policy in force: " + policy);
        Instant now = clock.instant();
        Tables.print(Formats.KEEPALIVE_COLUMNS, keepAlive.outlook().stream()
                .filter(o -> service == null || o.offering().service().equals(service))
                .map(o -> Formats.outlookRow(o, now)).toList(), service != null
                ? "No combination of " + service + " learned."
                : "No combination learned (the '" + policy + "' policy keeps no plan per combination, "
                        + "or none was asked for yet).", out);
        return null;
    }
}
