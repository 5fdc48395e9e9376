package org.servicefarm.rest.internal;

import java.security.Principal;
import java.time.Duration;
import java.util.Set;

import javax.annotation.Priority;
import javax.security.auth.login.Configuration;
import javax.servlet.http.HttpServletRequest;
import javax.ws.rs.Priorities;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.PreMatching;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.SecurityContext;

import org.osgi.service.component.ComponentContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.metatype.annotations.Designate;
import org.servicefarm.api.config.ConfiguredSettings;
import org.servicefarm.rest.internal.JaasAuthenticator.LoggedIn;
import org.servicefarm.rest.internal.JaasAuthenticator.Refused;
import org.servicefarm.rest.internal.JaasAuthenticator.Result;
import org.servicefarm.rest.internal.JaasAuthenticator.Throttled;

import com.github.benmanes.caffeine.cache.Ticker;

/**
 * HTTP Basic login against a JAAS realm, for every JAX-RS application on the whiteboard (so
 * anything served beside the API, a benchmark's constant resource for one, pays the same login).
 * Runs before resource matching, so that an anonymous client gets 401 whatever it asks for; what
 * a logged-in user may do is decided after matching, by {@link RoleFilter}, from the method that
 * will run. Repeated failures are slowed by a {@link LoginThrottle}: such attempts get 429.
 */
@Component(service = ContainerRequestFilter.class, configurationPid = RestConfig.PID)
@Designate(ocd = RestConfig.class)
@JaxrsExtension
@JaxrsName(LoginFilter.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
@PreMatching
@Priority(Priorities.AUTHENTICATION)
public class LoginFilter implements ContainerRequestFilter {

    static final String NAME = "servicefarm-login";

    /** Where a connection comes from: the socket's peer. X-Forwarded-For is the client's to write, so not read. */
    @Context
    HttpServletRequest connection;

    /** What a configuration makes of the login, checked whole. */
    private record Login(JaasAuthenticator authenticator, Roles roles) {
    }

    /** A typo in the login's configuration must not take the API away: its settings before it stay. */
    private final ConfiguredSettings<RestConfig, Login> login;
    private final JaasAuthenticator authenticator;
    private final Roles roles;

    @Activate
    public LoginFilter(RestConfig config, ComponentContext context) {
        this(config, context, null, Ticker.systemTicker());
    }

    /**
     * @param context           the component's context, {@code null} outside a framework
     * @param jaasConfiguration the JAAS configuration to use, {@code null} for the installed one
     * @param ticker            the clock of the login cache and the throttle (nanoseconds)
     */
    LoginFilter(RestConfig config, ComponentContext context, Configuration jaasConfiguration, Ticker ticker) {
        login = new ConfiguredSettings<>(RestConfig.PID, RestConfig.class, c -> new Login(
                new JaasAuthenticator(c.realm(), jaasConfiguration, new LoginCache(
                        Duration.ofSeconds(c.loginCacheSeconds()), c.loginCacheSize(), ticker),
                        new LoginThrottle(LoginThrottle.Limits.of(c), ticker)), new Roles(c)));
        Login accepted = login.accept(context, config);
        this.authenticator = accepted.authenticator();
        this.roles = accepted.roles();
    }

    @Deactivate
    void deactivate() {
        login.close();
    }

    @Override
    public void filter(ContainerRequestContext request) {
        Result result = authenticator.authenticate(request.getHeaderString(HttpHeaders.AUTHORIZATION), address());
        if (result instanceof LoggedIn in) {
            request.setSecurityContext(securityContext(in.login().user(), roles.granted(in.login().roles()),
                    request.getSecurityContext()));
        } else if (result instanceof Throttled throttled) {
            request.abortWith(Problems.throttled(throttled.seconds()));
        } else {
            request.abortWith(Problems.unauthorized(((Refused) result).reason()));
        }
    }

    private String address() {
        try {
            String address = connection == null ? null : connection.getRemoteAddr();
            return address == null ? "unknown" : address;
        } catch (RuntimeException e) {
            // No servlet request behind this call (another transport): all such clients share one address.
            return "unknown";
        }
    }

    /** The user and their logical roles ({@link Roles}): isUserInRole answers for viewer, operator and admin. */
    private static SecurityContext securityContext(String userName, Set<String> logicalRoles,
                                                   SecurityContext original) {
        Principal user = () -> userName;
        boolean secure = original != null && original.isSecure();
        return new SecurityContext() {
            @Override
            public Principal getUserPrincipal() {
                return user;
            }

            @Override
            public boolean isUserInRole(String role) {
                return logicalRoles.contains(role);
            }

            @Override
            public boolean isSecure() {
                return secure;
            }

            @Override
            public String getAuthenticationScheme() {
                return SecurityContext.BASIC_AUTH;
            }
        };
    }
}
