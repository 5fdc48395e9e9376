package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The checks every value passes before it reaches a QEMU command line, a QMP command or a file name.
 * QEMU parses many option values as {@code key=value,key=value} (a ',' in a path would start a new
 * key) and runs migration URIs {@code exec:...} through {@code /bin/sh -c}: so names and paths are
 * restricted to characters that mean nothing to either, and are passed as separate argv elements.
 */
public final class Checks {

    /** Guest, checkpoint and pool names: lower-case letters, digits and '-', 1-48 long, a letter first. */
    public static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,47}");
    /** Characters allowed in a path: no ',', '=', ':', quotes, spaces, '$', '~', or anything else a shell or QEMU reads. */
    static final Pattern PATH_CHARS = Pattern.compile("[A-Za-z0-9._/+-]+");
    /** Lowest host port a forward may use (below are privileged). */
    public static final int LOWEST_HOST_PORT = 1024;
    /** Unix-domain socket paths are limited to 107 bytes by sun_path. */
    static final int MAX_SOCKET_PATH = 107;
    static final int MAX_PATH = 1024;
    static final int MAX_KERNEL_CMDLINE = 2048;
    private static final Pattern USER = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
            + "(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern MACHINE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,47}");
    /** A CPU model and flags: {@code qemu64,+rdrand,-svm}. */
    private static final Pattern CPU = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9._-]{0,47}(,[+-][a-z0-9._-]{1,32}){0,16}");

    private Checks() {
    }

    /** Returns {@code value} when it is a {@link #NAME}. */
    public static String name(String field, String value) {
        if (value == null || !NAME.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be 1-48 lower-case letters, digits or '-', starting with a letter, not "
                    + excerpt(value));
        }
        return value;
    }

    /** Returns {@code port} when it is a host port a forward may listen on. */
    public static int hostPort(String field, int port) {
        if (port < LOWEST_HOST_PORT || port > 65535) {
            throw new IllegalArgumentException(field + " must be within " + LOWEST_HOST_PORT + "-65535, not " + port);
        }
        return port;
    }

    /** Returns {@code port} when it is a TCP port. */
    public static int guestPort(String field, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(field + " must be within 1-65535, not " + port);
        }
        return port;
    }

    /** Returns {@code value} when it lies within {@code min}-{@code max}. */
    public static int range(String field, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(field + " must be within " + min + "-" + max + ", not " + value);
        }
        return value;
    }

    /**
     * Returns {@code path} when it is absolute, normal (no '.', '..', doubled '/'), made of
     * {@link #PATH_CHARS} and lies under one of {@code roots}. When the path exists, its real path
     * (symbolic links resolved) must lie under the real path of that root too.
     */
    public static Path under(String field, Path path, List<Path> roots) {
        plain(field, path);
        for (Path root : roots) {
            if (path.startsWith(root) && !path.equals(root)) {
                if (Files.exists(path)) {
                    try {
                        Path real = path.toRealPath();
                        Path realRoot = root.toRealPath();
                        if (!real.startsWith(realRoot)) {
                            throw new IllegalArgumentException(field + " " + path + " leads outside " + root
                                    + " through a symbolic link");
                        }
                    } catch (IOException e) {
                        throw new IllegalArgumentException(field + " " + path + " cannot be resolved: " + e.getMessage(), e);
                    }
                }
                return path;
            }
        }
        throw new IllegalArgumentException(field + " " + path + " is not under any of " + roots);
    }

    /** Returns {@code path} when it is absolute, normal and made of {@link #PATH_CHARS}. */
    public static Path plain(String field, Path path) {
        if (path == null) {
            throw new IllegalArgumentException(field + " is required");
        }
        String s = path.toString();
        if (!path.isAbsolute() || !path.normalize().toString().equals(s) || s.length() > MAX_PATH
                || !PATH_CHARS.matcher(s).matches() || s.contains("/./") || s.endsWith("/.")) {
            throw new IllegalArgumentException(field + " must be an absolute, normal path of letters, digits and ._/+-, not "
                    + excerpt(s));
        }
        return path;
    }

    /** Returns {@code path} when it is {@link #plain} and short enough for a Unix-domain socket. */
    public static Path socket(String field, Path path) {
        plain(field, path);
        if (path.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IllegalArgumentException(field + " " + path + " is longer than " + MAX_SOCKET_PATH
                    + " bytes, the limit of a Unix-domain socket path");
        }
        return path;
    }

    /** Returns {@code value} when it is printable ASCII of at most {@value #MAX_KERNEL_CMDLINE} characters. */
    public static String kernelCommandLine(String value) {
        if (value == null || value.length() > MAX_KERNEL_CMDLINE || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("kernel command line must be printable ASCII of at most "
                    + MAX_KERNEL_CMDLINE + " characters");
        }
        return value;
    }

    /** Returns {@code value} when it is a user name QEMU's {@code -runas} may take. */
    public static String user(String field, String value) {
        if (value == null || !USER.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be a user name, not " + excerpt(value));
        }
        return value;
    }

    /** Returns {@code value} when it is a dotted IPv4 address. */
    public static String ipv4(String field, String value) {
        if (value == null || !IPV4.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be an IPv4 address, not " + excerpt(value));
        }
        return value;
    }

    /** Returns {@code value} when it is a QEMU machine type or accelerator name. */
    public static String machine(String field, String value) {
        if (value == null || !MACHINE.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be a QEMU machine or accelerator name, not " + excerpt(value));
        }
        return value;
    }

    /** Returns {@code value} when it is a CPU model with optional {@code +flag}/{@code -flag}s. */
    public static String cpu(String field, String value) {
        if (value == null || !CPU.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be a QEMU CPU model with +flag/-flag options, not " + excerpt(value));
        }
        return value;
    }

    /** Untrusted text safe to repeat in a message: at most 40 characters, control characters escaped. */
    static String excerpt(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("'");
        for (int i = 0; i < text.length() && i < 40; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '\'') {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append(text.length() > 40 ? "…'" : "'").toString();
    }

    /** A message that may hold untrusted text (QEMU's output), made safe to show: bounded, control characters escaped. */
    static String message(String text, int max) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && i < max; i++) {
            char c = text.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return out.append(text.length() > max ? "..." : "").toString();
    }
}
