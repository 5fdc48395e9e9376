package org.servicefarm.rest.internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.FailedLoginException;
import javax.security.auth.login.LoginException;
import javax.security.auth.spi.LoginModule;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.apache.karaf.jaas.boot.principal.UserPrincipal;

/**
 * A JAAS login module for the tests that behaves like Karaf's properties realm: fixed users,
 * a UserPrincipal and one RolePrincipal per role. Counts the logins it performs.
 */
public class TestLoginModule implements LoginModule {

    /** user -> password and roles. */
    static final Map<String, List<String>> USERS = Map.of(
            "viewer", List.of("viewer-pw", "viewer"),
            "operator", List.of("operator-pw", "operator"),
            "admin", List.of("admin-pw", "admin"),
            "guest", List.of("guest-pw", "group-without-rights"),
            "reader", List.of("reader-pw", "readers"));

    static final AtomicInteger LOGINS = new AtomicInteger();

    private Subject subject;
    private CallbackHandler handler;
    private String user;

    /** A JAAS configuration in which each of {@code realms} is this module; other realms do not exist. */
    static Configuration configuration(String... realms) {
        return new Configuration() {
            @Override
            public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
                if (!List.of(realms).contains(name)) {
                    return null;
                }
                return new AppConfigurationEntry[] {new AppConfigurationEntry(TestLoginModule.class.getName(),
                        AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of())};
            }
        };
    }

    @Override
    public void initialize(Subject subject, CallbackHandler handler, Map<String, ?> sharedState,
                           Map<String, ?> options) {
        this.subject = subject;
        this.handler = handler;
    }

    @Override
    public boolean login() throws LoginException {
        LOGINS.incrementAndGet();
        NameCallback name = new NameCallback("user");
        PasswordCallback password = new PasswordCallback("password", false);
        try {
            handler.handle(new Callback[] {name, password});
        } catch (Exception e) {
            throw new LoginException(e.toString());
        }
        List<String> entry = USERS.get(name.getName());
        if (entry == null || !Arrays.equals(entry.get(0).toCharArray(), password.getPassword())) {
            throw new FailedLoginException("wrong user name or password");
        }
        user = name.getName();
        return true;
    }

    @Override
    public boolean commit() {
        subject.getPrincipals().add(new UserPrincipal(user));
        USERS.get(user).stream().skip(1).forEach(role -> subject.getPrincipals().add(new RolePrincipal(role)));
        return true;
    }

    @Override
    public boolean abort() {
        user = null;
        return true;
    }

    @Override
    public boolean logout() {
        subject.getPrincipals().clear();
        return true;
    }
}
