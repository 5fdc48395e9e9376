package org.servicefarm.shell.internal;

import java.util.List;
import java.util.Map;

import org.apache.karaf.shell.support.CommandException;
import org.servicefarm.api.InvalidRequestException;

/**
 * A command's refusal as Karaf shows it. Karaf 4.4 prints an exception a command throws and gives the
 * session exit status 1 (ssh exec and {@code bin/client -b}): a {@link CommandException} is printed as its
 * "nice help" alone, on the session's console, and logged only at DEBUG; any other exception is printed as
 * "Error executing command: ..." and logged at ERROR with its stack trace. So a command fails by throwing
 * a CommandException whose help is one plain line: which option was wrong, then the API's own message, the
 * same words as the REST API's 400. (Printing to System.err instead is lost over ssh exec: Karaf closes
 * the channel without flushing the error stream, and the exit status stays 0.)
 */
final class Failures {

    private Failures() {
    }

    /**
     * The refusal of an {@link InvalidRequestException}, naming the command's option for its field.
     *
     * @param options the option (e.g. {@code --os}) or argument (e.g. {@code SERVICE}) of each API field
     *                (e.g. {@code environment.os}) the command sets; a field not named is looked up by the part
     *                before its first dot ({@code properties} for {@code properties.bootMillis})
     */
    static CommandException invalid(InvalidRequestException e, Map<String, String> options) {
        String field = e.field();
        String option = field == null ? null : options.getOrDefault(field,
                field.contains(".") ? options.get(field.substring(0, field.indexOf('.'))) : null);
        String what = option == null ? "Invalid request" : option.startsWith("-") ? "Invalid option " + option
                : "Invalid argument " + option;
        return failure(what + ": " + e.getMessage());
    }

    /** Words after SERVICE: options were put after the argument, where Karaf no longer reads them as options. */
    static CommandException trailing(String command, String argument, List<String> trailing) {
        boolean options = trailing.stream().anyMatch(word -> word.startsWith("-"));
        return failure(options
                ? "Options come before " + argument + ": " + command + " [options] " + argument
                + ", e.g. " + command + " --tier standard wiki"
                : command + " takes one " + argument + ", not " + (trailing.size() + 1));
    }

    /** A refusal printed as {@code message} alone. */
    static CommandException failure(String message) {
        return new CommandException(message, message);
    }
}
