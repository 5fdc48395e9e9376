package org.servicefarm.rest.internal;

import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;

import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.servicefarm.rest.internal.LoginCache.Login;

/**
 * Checks an HTTP Basic {@code Authorization} header against a JAAS realm (Karaf's {@code karaf}
 * by default) and returns the user's roles: from the cache when the same header logged in
 * recently, else by a JAAS login unless the throttle says the user or the client address must
 * wait first.
 */
final class JaasAuthenticator {

    /** What became of a login attempt. */
    sealed interface Result {
    }

    /** The header is missing, is not HTTP Basic, or the realm refused it. */
    record Refused(String reason) implements Result {
    }

    /** Too many failures of this user or from this address: not checked; try again after {@code seconds}. */
    record Throttled(long seconds) implements Result {
    }

    record LoggedIn(Login login) implements Result {
    }

    static final Refused NO_LOGIN = new Refused("log in with HTTP Basic (user name and password)");
    static final Refused WRONG_LOGIN = new Refused("wrong user name or password");

    private static final String BASIC = "basic ";

    private final String realm;
    private final Configuration jaasConfiguration;
    private final LoginCache cache;
    private final LoginThrottle throttle;

    /**
     * @param jaasConfiguration the JAAS configuration to log in with, or {@code null} for the installed
     *                          one (in Karaf: the realms registered as OSGi services)
     */
    JaasAuthenticator(String realm, Configuration jaasConfiguration, LoginCache cache, LoginThrottle throttle) {
        this.realm = realm;
        this.jaasConfiguration = jaasConfiguration;
        this.cache = cache;
        this.throttle = throttle;
    }

    /**
     * @param authorization the request's Authorization header, or {@code null}
     * @param address       the client's address as the connection shows it
     */
    Result authenticate(String authorization, String address) {
        if (authorization == null) {
            return NO_LOGIN;
        }
        if (!authorization.regionMatches(true, 0, BASIC, 0, BASIC.length())) {
            return WRONG_LOGIN;
        }
        // A login that worked recently passes even while its user is throttled: the throttle is for guesses.
        String key = Digests.sha256(authorization);
        Login cached = cache.get(key);
        if (cached != null) {
            return new LoggedIn(cached);
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(authorization.substring(BASIC.length()).trim()),
                    StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return WRONG_LOGIN;
        }
        int colon = decoded.indexOf(':');
        if (colon <= 0) {
            return WRONG_LOGIN;
        }
        String user = decoded.substring(0, colon);
        long wait = throttle.secondsToWait(user, address);
        if (wait > 0) {
            return new Throttled(wait);
        }
        Login login = login(user, decoded.substring(colon + 1).toCharArray());
        if (login == null) {
            throttle.failed(user, address);
            return WRONG_LOGIN;
        }
        throttle.succeeded(user, address);
        cache.put(key, login);
        return new LoggedIn(login);
    }

    private Login login(String user, char[] password) {
        Subject subject = new Subject();
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        // LoginContext loads the realm's login module (Karaf's ProxyLoginModule) through the
        // context class loader, which on an HTTP thread is not one that can see it.
        thread.setContextClassLoader(JaasAuthenticator.class.getClassLoader());
        try {
            LoginContext context = new LoginContext(realm, subject, callbacks -> answer(callbacks, user, password),
                    jaasConfiguration);
            context.login();
            Set<String> roles = new HashSet<>();
            for (Principal principal : subject.getPrincipals()) {
                if (principal instanceof RolePrincipal) {
                    roles.add(principal.getName());
                }
            }
            logoutQuietly(context);
            return new Login(user, roles);
        } catch (LoginException e) {
            return null;
        } finally {
            thread.setContextClassLoader(previous);
            Arrays.fill(password, '\0');
        }
    }

    private static void answer(Callback[] callbacks, String user, char[] password)
            throws UnsupportedCallbackException {
        for (Callback callback : callbacks) {
            if (callback instanceof NameCallback name) {
                name.setName(user);
            } else if (callback instanceof PasswordCallback pass) {
                pass.setPassword(password);
            } else {
                throw new UnsupportedCallbackException(callback);
            }
        }
    }

    /** The roles are copied already; logout only lets the login modules release what they hold. */
    private static void logoutQuietly(LoginContext context) {
        try {
            context.logout();
        } catch (LoginException ignored) {
            // Nothing to undo for a login that is over.
        }
    }
}
