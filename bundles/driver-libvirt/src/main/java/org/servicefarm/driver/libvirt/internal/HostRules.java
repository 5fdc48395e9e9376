package org.servicefarm.driver.libvirt.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which libvirt URIs a host may name: an allow-list from the driver's configuration
 * ({@link LibvirtDriverConfig}). libvirt URIs can run programs ({@code qemu+ext}, {@code ?command=},
 * {@code ?netcat=}), open local sockets and key files, or make the test driver parse any file the
 * appliance can read and quote it in its error; so everything not allowed here is refused:
 * <ul>
 * <li>{@code test:///default} (when allowed), and {@code test:///<file>} only for a readable regular file
 * inside the configured node directory: no {@code .}/{@code ..} segment (percent-encoded or not), no query,
 * and no symbolic link leading out of the directory;</li>
 * <li>the configured local URIs, exactly (e.g. {@code qemu:///system});</li>
 * <li>the configured remote transports ({@code qemu+tls://}, {@code qemu+ssh://}): a host name or IP
 * literal that is not this machine, an optional port and user name (never a password), the path
 * {@code /system} or {@code /session}, and only allow-listed query parameters.</li>
 * </ul>
 * Every refusal is an {@link InvalidRequestException} on the field {@code uri} that repeats at most an
 * excerpt of the URI and never its user info.
 */
final class HostRules {

    private static final Logger LOG = LoggerFactory.getLogger(HostRules.class);

    static final String FIELD = "uri";
    static final String TEST_DEFAULT = "test:///default";
    /** Remote transports that can be allowed; qemu+unix and qemu+ext (local sockets, any program) never can. */
    static final Set<String> REMOTE_CAPABLE = Set.of("qemu+tls", "qemu+ssh", "qemu+libssh", "qemu+libssh2", "qemu+tcp");
    /** Query parameters that run programs, choose local files or sockets, or drop verification: never allowed. */
    static final Set<String> NEVER_PARAMETERS = Set.of("command", "socket", "netcat", "keyfile", "known_hosts",
            "known_hosts_verify", "proxy", "pkipath", "name", "no_verify", "tls_priority");
    private static final Pattern LOCAL_URI = Pattern.compile("qemu:///(system|session)");
    private static final Pattern SCHEME = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*):(.*)", Pattern.DOTALL);
    private static final Pattern REMOTE = Pattern.compile("//(?:([^@/?#]*)@)?([^/?#]*)([^?#]*)(?:\\?([^#]*))?(#.*)?");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[^\\]]*\\]|[^:\\[\\]]*)(?::([0-9]{1,5}))?");
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,31}");
    private static final Pattern REMOTE_PATH = Pattern.compile("/(system|session)");
    private static final Pattern PARAMETER_NAME = Pattern.compile("[a-z_]{1,32}");
    private static final Pattern PARAMETER_VALUE = Pattern.compile("[A-Za-z0-9._-]{0,64}");

    /**
     * The URI a host names, checked: what kind of hypervisor it is, the URI libvirt is given, and whether its guests'
     * ports are this machine's (test driver, {@code qemu:///}) or a remote host's.
     */
    record Target(HostSettings.Kind kind, String libvirtUri, boolean local) {
    }

    private final Optional<Path> nodeDirectory;
    private final boolean testDefaultAllowed;
    private final Set<String> localUris;
    private final Set<String> remoteSchemes;
    private final Set<String> remoteParameters;

    HostRules(Optional<Path> nodeDirectory, boolean testDefaultAllowed, Collection<String> localUris,
              Collection<String> remoteSchemes, Collection<String> remoteParameters) {
        this.nodeDirectory = nodeDirectory.map(p -> p.toAbsolutePath().normalize());
        this.testDefaultAllowed = testDefaultAllowed;
        this.localUris = keep(localUris, uri -> LOCAL_URI.matcher(uri).matches(), "local URI",
                "only qemu:///system and qemu:///session are local URIs");
        this.remoteSchemes = keep(lower(remoteSchemes), REMOTE_CAPABLE::contains, "remote transport",
                "only " + new TreeSet<>(REMOTE_CAPABLE) + " can be allowed");
        this.remoteParameters = keep(lower(remoteParameters),
                p -> PARAMETER_NAME.matcher(p).matches() && !NEVER_PARAMETERS.contains(p), "remote query parameter",
                "it runs a program, names a local file or socket, or weakens verification");
    }

    /** The rules of a driver configuration, {@code ${karaf.etc}} replaced; outside Karaf it resolves to nothing. */
    static HostRules from(LibvirtDriverConfig config) {
        return new HostRules(directory(config.testNodeDirectory()), config.testDefaultAllowed(),
                split(config.localUris()), split(config.remoteSchemes()), split(config.remoteQueryParameters()));
    }

    Optional<Path> nodeDirectory() {
        return nodeDirectory;
    }

    /**
     * Checks a host's URI and says what it names.
     *
     * @throws InvalidRequestException on the field {@code uri} when the rules refuse it
     */
    Target check(String uri) {
        Matcher scheme = SCHEME.matcher(uri);
        if (!scheme.matches()) {
            throw refuse("uri must be a libvirt URI such as test:///<node file> or qemu:///system");
        }
        String name = scheme.group(1).toLowerCase(Locale.ROOT);
        String rest = scheme.group(2);
        if (name.equals("test")) {
            return new Target(HostSettings.Kind.TEST, testUri(rest), true);
        }
        if (localUris.contains(name + ":" + rest)) {
            return new Target(HostSettings.Kind.QEMU, name + ":" + rest, true);
        }
        if (remoteSchemes.contains(name)) {
            return new Target(HostSettings.Kind.QEMU, remoteUri(name, rest), false);
        }
        throw refuse("uri scheme '" + Names.excerpt(name) + "' is not allowed: the libvirt driver accepts "
                + allowed());
    }

    private String allowed() {
        List<String> forms = new ArrayList<>();
        if (testDefaultAllowed) {
            forms.add(TEST_DEFAULT);
        }
        nodeDirectory.ifPresent(dir -> forms.add("test:///<node file in " + dir + ">"));
        forms.addAll(localUris);
        remoteSchemes.forEach(s -> forms.add(s + "://<remote host>/system"));
        return forms.isEmpty() ? "nothing (see the driver's configuration)" : String.join(", ", forms);
    }

    /**
     * {@code test:///default} or {@code test:///<absolute path of a node file in the node directory>}. Extra
     * slashes before the path are dropped, because the shipped configurations write
     * {@code test:///${karaf.etc}/...} and {@code karaf.etc} is itself absolute.
     */
    private String testUri(String rest) {
        if (!rest.startsWith("//")) {
            throw refuse("a test URI must be test:///default or test:///<absolute path of a node file>");
        }
        String afterSlashes = rest.substring(2);
        if (!afterSlashes.startsWith("/")) {
            throw refuse("remote test driver URIs are not allowed; use test:///<absolute path of a node file>");
        }
        if (afterSlashes.indexOf('?') >= 0 || afterSlashes.indexOf('#') >= 0) {
            throw refuse("a test URI takes no query or fragment");
        }
        String path = "/" + decode(afterSlashes).replaceFirst("^/+", "");
        if (path.equals("/default")) {
            if (!testDefaultAllowed) {
                throw refuse(TEST_DEFAULT + " is not allowed by the driver's configuration");
            }
            return TEST_DEFAULT;
        }
        Path directory = nodeDirectory.orElseThrow(() ->
                refuse("test driver node files are not allowed: the driver has no node directory configured"));
        for (String segment : path.split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                throw refuse("a test node file path must not contain '.' or '..' segments");
            }
        }
        Path file;
        try {
            file = Path.of(path).normalize();
        } catch (InvalidPathException e) {
            throw refuse("the test node file path is not a valid path");
        }
        String outside = "test driver node files must be inside " + directory;
        Path realDirectory;
        try {
            realDirectory = directory.toRealPath();
        } catch (IOException e) {
            throw refuse(outside + ", which does not exist");
        }
        // Lexically first, touching nothing outside: no answer may tell which files exist elsewhere.
        if (!file.startsWith(directory) && !file.startsWith(realDirectory)) {
            throw refuse(outside);
        }
        String unreadable = "the test node file is not a readable regular file inside " + directory
                + " (symbolic links must not lead out of it)";
        Path real;
        try {
            real = file.toRealPath();
        } catch (IOException e) {
            throw refuse(unreadable);
        }
        if (!real.startsWith(realDirectory) || real.equals(realDirectory) || !Files.isRegularFile(real)
                || !Files.isReadable(real)) {
            throw refuse(unreadable);
        }
        // libvirt opens exactly the file checked here: the resolved path, escaped as libvirt unescapes it.
        return "test://" + percentEncodePath(real.toString());
    }

    private String remoteUri(String scheme, String rest) {
        if (rest.indexOf('%') >= 0) {
            throw refuse("a remote URI must not hold percent-escapes");
        }
        Matcher parts = REMOTE.matcher(rest);
        if (!parts.matches()) {
            throw refuse("a remote URI must be " + scheme + "://[user@]host[:port]/system[?parameters]");
        }
        String user = parts.group(1);
        if (user != null && user.indexOf(':') >= 0) {
            throw refuse("a remote URI must not carry a password in its user info");
        }
        if (user != null && !USER.matcher(user).matches()) {
            throw refuse("the user name of a remote URI must be 1-32 letters, digits, '.', '_' or '-', starting "
                    + "with a letter, digit or '_'");
        }
        checkRemoteHost(parts.group(2));
        if (!REMOTE_PATH.matcher(parts.group(3)).matches()) {
            throw refuse("the path of a remote URI must be /system or /session");
        }
        if (parts.group(5) != null) {
            throw refuse("a remote URI takes no fragment");
        }
        String query = parts.group(4);
        if (query != null && !query.isEmpty()) {
            for (String parameter : query.split("&", -1)) {
                int equals = parameter.indexOf('=');
                String name = equals < 0 ? parameter : parameter.substring(0, equals);
                String value = equals < 0 ? "" : parameter.substring(equals + 1);
                if (!remoteParameters.contains(name)) {
                    throw refuse("query parameter '" + Names.excerpt(name) + "' is not allowed in a remote URI"
                            + (remoteParameters.isEmpty() ? "" : "; allowed: " + new TreeSet<>(remoteParameters)));
                }
                if (!PARAMETER_VALUE.matcher(value).matches()) {
                    throw refuse("the value of query parameter '" + name + "' must be up to 64 letters, digits, "
                            + "'.', '_' or '-'");
                }
            }
        }
        return scheme + ":" + rest;
    }

    /** A host name or IP literal that is not this machine; a name is resolved when it resolves. */
    private static void checkRemoteHost(String hostPort) {
        Matcher matcher = HOST_PORT.matcher(hostPort);
        if (!matcher.matches() || matcher.group(1).isEmpty()) {
            throw refuse("a remote URI must name a host: a DNS name, an IPv4 address or a bracketed IPv6 address, "
                    + "then optionally ':' and a port");
        }
        String host = matcher.group(1);
        if (matcher.group(2) != null) {
            int port = Integer.parseInt(matcher.group(2));
            if (port < 1 || port > 65535) {
                throw refuse("the port of a remote URI must be from 1 to 65535");
            }
        }
        String own = "a remote URI must not point at this appliance's own machine";
        List<InetAddress> addresses = new ArrayList<>();
        if (host.startsWith("[")) {
            InetAddress literal = Addresses.ipLiteral(host.substring(1, host.length() - 1))
                    .orElseThrow(() -> refuse("the bracketed host of a remote URI is not an IPv6 address"));
            addresses.add(literal);
        } else if (Addresses.ipLiteral(host).isPresent()) {
            addresses.add(Addresses.ipLiteral(host).get());
        } else if (Addresses.dnsName(host)) {
            if (Addresses.namesThisMachine(host)) {
                throw refuse(own);
            }
            try {
                addresses.addAll(List.of(InetAddress.getAllByName(host)));
            } catch (UnknownHostException e) {
                LOG.debug("remote host {} does not resolve (yet); connecting will tell", host);
            }
        } else {
            throw refuse("the host of a remote URI must be a DNS name (its last label starting with a letter), "
                    + "an IPv4 address in dotted-quad form or a bracketed IPv6 address");
        }
        for (InetAddress address : addresses) {
            if (Addresses.isThisMachine(address)) {
                throw refuse(own);
            }
        }
    }

    /** Percent-decodes strictly (UTF-8); escapes of control characters are refused. */
    private static String decode(String text) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '%') {
                int high = i + 2 < text.length() ? Character.digit(text.charAt(i + 1), 16) : -1;
                int low = high < 0 ? -1 : Character.digit(text.charAt(i + 2), 16);
                if (low < 0) {
                    throw refuse("the uri has a malformed percent-escape");
                }
                bytes.write(high * 16 + low);
                i += 2;
            } else {
                bytes.write(c); // printable ASCII: HostRecord allows nothing else
            }
        }
        String decoded;
        try {
            decoded = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw refuse("the uri's percent-escapes are not UTF-8");
        }
        for (int i = 0; i < decoded.length(); i++) {
            if (Character.isISOControl(decoded.charAt(i))) {
                throw refuse("the uri must not encode control characters");
            }
        }
        return decoded;
    }

    /** libvirt unescapes the path of a URI: escape what a URI path cannot carry as is (spaces, '%', '#', '?'). */
    static String percentEncodePath(String path) {
        StringBuilder out = new StringBuilder(path.length());
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "/._~-+=,:@".indexOf(c) >= 0;
            if (plain) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    private static InvalidRequestException refuse(String message) {
        return new InvalidRequestException(FIELD, message);
    }

    /** {@code ${karaf.etc}} replaced by the system property; empty when unset, blank, or Karaf's etc is unknown. */
    static Optional<Path> directory(String configured) {
        if (configured == null || configured.isBlank()) {
            return Optional.empty();
        }
        String text = configured.trim();
        if (text.contains("${karaf.etc}")) {
            String etc = System.getProperty("karaf.etc");
            if (etc == null || etc.isBlank()) {
                LOG.warn("testNodeDirectory {} names ${{karaf.etc}}, which is not set: no test node file is allowed",
                        Names.excerpt(text, 200));
                return Optional.empty();
            }
            text = text.replace("${karaf.etc}", etc);
        }
        try {
            return Optional.of(Path.of(text).toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            LOG.warn("testNodeDirectory is not a valid path: no test node file is allowed");
            return Optional.empty();
        }
    }

    /** Configuration lists: typed arrays and comma-separated strings from .cfg files alike. */
    static List<String> split(String[] values) {
        List<String> result = new ArrayList<>();
        if (values != null) {
            for (String value : values) {
                for (String item : value.split(",")) {
                    if (!item.isBlank()) {
                        result.add(item.trim());
                    }
                }
            }
        }
        return result;
    }

    private static List<String> lower(Collection<String> values) {
        return values.stream().map(v -> v.toLowerCase(Locale.ROOT)).toList();
    }

    private static Set<String> keep(Collection<String> values, java.util.function.Predicate<String> allowed,
                                    String what, String why) {
        Set<String> kept = new LinkedHashSet<>();
        for (String value : values) {
            if (allowed.test(value)) {
                kept.add(value);
            } else {
                LOG.warn("The libvirt driver's configuration allows {} '{}', which is ignored: {}", what,
                        Names.excerpt(value, 100), why);
            }
        }
        return Set.copyOf(kept);
    }
}
