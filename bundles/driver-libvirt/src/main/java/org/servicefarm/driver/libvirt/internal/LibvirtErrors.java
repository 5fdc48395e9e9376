package org.servicefarm.driver.libvirt.internal;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import org.libvirt.Error;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.servicefarm.api.Names;

/**
 * libvirt's errors as the farm shows them (a host's detail, an exception message, a log line). libvirt
 * quotes what it failed on: an XML parse error carries the first line of the file it read (the test
 * driver reads any file a URI names), a URI may carry user info. So an error is shown as its code and
 * either the first line of its message, for codes whose messages cannot carry file content, or else the
 * code's description alone; user info is cut out of URIs and control characters are escaped.
 */
final class LibvirtErrors {

    /** How much of a libvirt message is shown. */
    static final int MAX_LENGTH = 200;

    /**
     * Codes whose message is about the connection, the operation or the system, never the content of a
     * file or of an XML document: their first line is shown. Every other code shows its description.
     */
    private static final Set<ErrorNumber> MESSAGE_SHOWN = EnumSet.of(
            ErrorNumber.VIR_ERR_NO_MEMORY, ErrorNumber.VIR_ERR_NO_SUPPORT, ErrorNumber.VIR_ERR_UNKNOWN_HOST,
            ErrorNumber.VIR_ERR_NO_CONNECT, ErrorNumber.VIR_ERR_INVALID_CONN, ErrorNumber.VIR_ERR_INVALID_DOMAIN,
            ErrorNumber.VIR_ERR_OPERATION_FAILED, ErrorNumber.VIR_ERR_DOM_EXIST, ErrorNumber.VIR_ERR_OPERATION_DENIED,
            ErrorNumber.VIR_ERR_SYSTEM_ERROR, ErrorNumber.VIR_ERR_RPC, ErrorNumber.VIR_ERR_GNUTLS_ERROR,
            ErrorNumber.VIR_ERR_NO_DOMAIN, ErrorNumber.VIR_ERR_AUTH_FAILED, ErrorNumber.VIR_ERR_OPERATION_INVALID,
            ErrorNumber.VIR_ERR_OPERATION_TIMEOUT, ErrorNumber.VIR_ERR_OPERATION_ABORTED,
            ErrorNumber.VIR_ERR_AUTH_CANCELLED, ErrorNumber.VIR_ERR_OPERATION_UNSUPPORTED, ErrorNumber.VIR_ERR_SSH,
            ErrorNumber.VIR_ERR_LIBSSH, ErrorNumber.VIR_ERR_AGENT_UNRESPONSIVE, ErrorNumber.VIR_ERR_RESOURCE_BUSY,
            ErrorNumber.VIR_ERR_ACCESS_DENIED, ErrorNumber.VIR_ERR_AUTH_UNAVAILABLE, ErrorNumber.VIR_ERR_NO_SERVER,
            ErrorNumber.VIR_ERR_NO_CLIENT, ErrorNumber.VIR_ERR_NO_HOSTNAME, ErrorNumber.VIR_ERR_NO_DOMAIN_SNAPSHOT);

    /** scheme://user[:password]@ -> scheme:// */
    private static final Pattern USER_INFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\\s'\"]*@");

    private LibvirtErrors() {
    }

    /** The error as it may be shown: e.g. {@code "the XML is malformed (libvirt VIR_ERR_XML_DETAIL)"}. */
    static String describe(LibvirtException e) {
        Error error = e.getError();
        ErrorNumber code = error == null ? null : error.getCode();
        if (code == null) {
            return "libvirt failed without an error code";
        }
        String text = MESSAGE_SHOWN.contains(code) && error.getMessage() != null
                ? firstLine(error.getMessage()) : description(code);
        return shown(text) + " (libvirt " + code.name() + ")";
    }

    /** Untrusted text made fit to show: user info cut out of URIs, bounded, control characters escaped. */
    static String shown(String text) {
        return Names.excerpt(text == null ? null : USER_INFO.matcher(text).replaceAll("$1"), MAX_LENGTH);
    }

    private static String firstLine(String message) {
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }

    /** What an error code means, in words: for codes whose messages may quote what libvirt read. */
    static String description(ErrorNumber code) {
        return switch (code) {
            case VIR_ERR_XML_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_XML_INVALID_SCHEMA ->
                    "the XML document is malformed or invalid";
            case VIR_ERR_INTERNAL_ERROR -> "libvirt reported an internal error";
            case VIR_ERR_CONFIG_UNSUPPORTED -> "the configuration is not supported";
            case VIR_ERR_INVALID_ARG -> "an argument was rejected";
            case VIR_ERR_OPEN_FAILED, VIR_ERR_READ_FAILED -> "a file could not be read";
            case VIR_ERR_PARSE_FAILED, VIR_ERR_CONF_SYNTAX -> "a file could not be parsed";
            case VIR_ERR_WRITE_FAILED -> "a file could not be written";
            default -> code.name().replaceFirst("^VIR_(ERR|WAR)_", "").replace('_', ' ').toLowerCase(Locale.ROOT);
        };
    }
}
