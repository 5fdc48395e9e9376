package org.servicefarm.rest.internal;

import java.security.Principal;
import java.time.Duration;

import javax.security.auth.login.Configuration;
import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.container.PreMatching;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.SecurityContext;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.osgi.service.metatype.annotations.Designate;
import org.servicefarm.rest.internal.AccessPolicy.Need;
import org.servicefarm.rest.internal.LoginCache.Login;

import com.github.benmanes.caffeine.cache.Ticker;

/**
 * HTTP Basic login against a JAAS realm and the role check, for every JAX-RS application on the
 * whiteboard (so anything served beside the API, a benchmark's constant resource for one, pays
 * the same login). Runs before resource matching.
 */
@Component(service = ContainerRequestFilter.class, configurationPid = RestConfig.PID)
@Designate(ocd = RestConfig.class)
@JaxrsExtension
@JaxrsName("servicefarm-login")
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
@PreMatching
public class LoginFilter implements ContainerRequestFilter {

    private final JaasAuthenticator authenticator;
    private final AccessPolicy policy;

    @Activate
    public LoginFilter(RestConfig config) {
        this(config, null);
    }

    /** @param jaasConfiguration the JAAS configuration to use, {@code null} for the installed one */
    LoginFilter(RestConfig config, Configuration jaasConfiguration) {
        this.authenticator = new JaasAuthenticator(config.realm(), jaasConfiguration,
                new LoginCache(Duration.ofSeconds(config.loginCacheSeconds()), config.loginCacheSize(),
                        Ticker.systemTicker()));
        this.policy = new AccessPolicy(config);
    }

    @Override
    public void filter(ContainerRequestContext request) {
        String authorization = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (authorization == null) {
            request.abortWith(Problems.unauthorized("log in with HTTP Basic (user name and password)"));
            return;
        }
        Login login = authenticator.authenticate(authorization);
        if (login == null) {
            request.abortWith(Problems.unauthorized("wrong user name or password"));
            return;
        }
        Need need = AccessPolicy.need(request.getMethod(), request.getUriInfo().getPath());
        if (!policy.allows(login.roles(), need)) {
            request.abortWith(Problems.forbidden("user " + login.user() + " lacks role " + policy.roleFor(need)
                    + " for " + request.getMethod() + " " + request.getUriInfo().getPath()));
            return;
        }
        request.setSecurityContext(securityContext(login, request.getSecurityContext()));
    }

    private static SecurityContext securityContext(Login login, SecurityContext original) {
        Principal user = login::user;
        boolean secure = original != null && original.isSecure();
        return new SecurityContext() {
            @Override
            public Principal getUserPrincipal() {
                return user;
            }

            @Override
            public boolean isUserInRole(String role) {
                return login.roles().contains(role);
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
