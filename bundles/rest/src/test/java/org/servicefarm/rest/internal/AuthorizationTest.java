package org.servicefarm.rest.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import javax.annotation.security.RolesAllowed;
import javax.ws.rs.HttpMethod;
import javax.ws.rs.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.servicefarm.rest.internal.RestStack.Login;

/**
 * Who may call which method, decided by the method the runtime matched and never by how the path
 * is spelled; and nothing the runtime answers by itself (OPTIONS, WADL) gets past the login.
 */
class AuthorizationTest {

    private static final String HOST = "{\"name\":\"host-d\",\"driver\":\"libvirt\",\"uri\":\"test:///d\","
            + "\"capacity\":{\"vcpus\":1,\"memoryMiB\":1,\"vms\":1}}";
    private static final String REQUEST = "{\"service\":\"wiki\"}";

    /** The users by rung: none (a role the API does not know), then each logical role. */
    private static final List<Login> LADDER = List.of(Login.GUEST, Login.VIEWER, Login.OPERATOR, Login.ADMIN);

    @RegisterExtension
    static final RestStack stack = RestStack.perClass(new ProbeResources.Methods(), new ProbeResources.ClassLevel());

    private static String body(String method, String path) {
        return !method.equals("POST") ? null : path.contains("hosts") ? HOST : REQUEST;
    }

    private static Answer send(String method, String target, Login login) {
        String body = body(method, target);
        return stack.send(method, target, login == null ? null : login.header(), body == null ? null : RestStack.JSON,
                body);
    }

    /** Every method of the API with the least role that may call it; users below it get 403, the others its answer. */
    @ParameterizedTest(name = "{0} {1} needs {2}")
    @CsvSource({
            "GET,    /api/v1/catalog/offerings,  viewer",
            "GET,    /api/v1/catalog/components, viewer",
            "GET,    /api/v1/catalog/rules,      viewer",
            "GET,    /api/v1/vms,                viewer",
            "GET,    /api/v1/vms/vm-1,           viewer",
            "GET,    /api/v1/hosts,              viewer",
            "GET,    /api/v1/hosts/host-a,       viewer",
            "POST,   /api/v1/requests,           operator",
            "POST,   /api/v1/hosts,              admin",
            "DELETE, /api/v1/hosts/host-a,       admin",
            "POST,   /api/v1/requests?explain=true, operator",
            "POST,   /api/v1/hosts/host-a/drain, admin",
            "DELETE, /api/v1/hosts/host-a/drain, admin",
            "POST,   /api/v1/hosts/host-a/connect, admin",
            "GET,    /api/v1/images,             viewer",
            "GET,    /api/v1/images/80bfb71f9ad57f2f281405fb, viewer",
            "POST,   /api/v1/images,             operator",
            "GET,    /api/v1/components,         viewer",
            "GET,    /api/v1/popularity,         viewer",
            "GET,    /api/v1/keepalive,          viewer",
    })
    void eachMethodNeedsItsRole(String method, String path, String least) {
        int rung = List.of("guest", Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN).indexOf(least);
        for (int i = 0; i < LADDER.size(); i++) {
            Login login = LADDER.get(i);
            Answer answer = send(method, path, login);
            if (i < rung) {
                assertTrue(answer.problem(403).get("detail").asText().contains("lacks role " + least), answer.body());
            } else {
                assertNotEquals(403, answer.status(), login.user() + ": " + answer.body());
                assertNotEquals(401, answer.status(), login.user() + ": " + answer.body());
            }
        }
        send(method, path, null).problem(401);
    }

    /** The table above covers every resource method of the API, with the role the method declares. */
    @Test
    void everyResourceMethodDeclaresTheRoleOfTheTable() throws Exception {
        Map<String, String> declared = new TreeMap<>();
        for (Class<?> resource : List.of(CatalogResource.class, VmResource.class, HostResource.class,
                RequestResource.class, ImageResource.class, ComponentResource.class, PopularityResource.class)) {
            String base = "/" + ApiApplication.BASE + "/" + resource.getAnnotation(Path.class).value();
            for (Method method : resource.getDeclaredMethods()) {
                String verb = httpMethod(method);
                if (verb != null) {
                    Path path = method.getAnnotation(Path.class);
                    RolesAllowed roles = method.getAnnotation(RolesAllowed.class);
                    declared.put(verb + " " + base + (path == null ? "" : "/" + path.value()),
                            roles == null ? "none" : String.join(",", roles.value()));
                }
            }
        }
        Map<String, String> table = new TreeMap<>(Map.of(
                "GET /api/v1/catalog/offerings", "viewer", "GET /api/v1/catalog/components", "viewer",
                "GET /api/v1/catalog/rules", "viewer", "GET /api/v1/vms", "viewer", "GET /api/v1/vms/{id}", "viewer",
                "GET /api/v1/hosts", "viewer", "GET /api/v1/hosts/{name}", "viewer",
                "POST /api/v1/requests", "operator", "POST /api/v1/hosts", "admin",
                "DELETE /api/v1/hosts/{name}", "admin"));
        table.putAll(Map.of("POST /api/v1/vms/{id}/sleep", "operator", "POST /api/v1/vms/{id}/archive", "operator",
                "POST /api/v1/vms/{id}/wake", "operator", "POST /api/v1/vms/{id}/migrate", "operator",
                "DELETE /api/v1/vms/{id}", "operator"));
        table.put("POST /api/v1/hosts/{name}/drain", "admin");
        table.put("DELETE /api/v1/hosts/{name}/drain", "admin");
        table.put("POST /api/v1/hosts/{name}/connect", "admin");
        table.putAll(Map.of("GET /api/v1/images", "viewer", "GET /api/v1/images/{id}", "viewer",
                "POST /api/v1/images", "operator", "GET /api/v1/components", "viewer",
                "GET /api/v1/popularity", "viewer"));
        assertEquals(table, declared);
    }

    private static String httpMethod(Method method) {
        for (var annotation : method.getAnnotations()) {
            HttpMethod verb = annotation.annotationType().getAnnotation(HttpMethod.class);
            if (verb != null) {
                return verb.value();
            }
        }
        return null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET /api/probe/undeclared", "POST /api/probe/undeclared", "GET /api/probe/permit-all",
            "GET /api/probe/unknown-role", "GET /api/probe/no-role"})
    void aMethodThatDeclaresNoRoleOfTheApiIsRefusedToEveryone(String request) {
        String[] parts = request.split(" ");
        for (Login login : LADDER) {
            Answer answer = stack.send(parts[0], parts[1], login.header(), RestStack.JSON, "{}");

            assertTrue(answer.problem(403).get("detail").asText().contains(login.user()), answer.body());
        }
    }

    @Test
    void aClassDeclaresTheRoleOfItsMethodsThatDeclareNone() {
        send("GET", "/api/probe-class", Login.VIEWER).problem(403);
        assertEquals(200, send("GET", "/api/probe-class", Login.OPERATOR).status());
        assertEquals(200, send("GET", "/api/probe-class/viewer", Login.VIEWER).status(), "the method's own role wins");
    }

    @Test
    void anyOfTheRolesAMethodNamesWillDo() {
        send("GET", "/api/probe/either", Login.VIEWER).problem(403);
        assertEquals(200, send("GET", "/api/probe/either", Login.OPERATOR).status());
        assertEquals(200, send("GET", "/api/probe/either", Login.ADMIN).status());
    }

    /**
     * However the path is spelled, an operator never gets to add or remove a host: a spelling the
     * runtime matches to the method is refused by the method's role (403, and an admin gets the
     * method), any other is not found or not allowed. The first two are the findings on the shipped
     * appliance (201 and 204 for an operator).
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "POST,   /api/v1/hosts;x=1",
            "DELETE, /api/v1/hosts;x/host-a",
            "DELETE, /api/v1/hosts/host-a;x=1",
            "POST,   /api/v1;v=2/hosts",
            "POST,   /api/v1/hosts/",
            "DELETE, /api/v1/hosts/host-a/",
            "POST,   /api/v1//hosts",
            "DELETE, /api/v1//hosts/host-a",
            "POST,   /api/v1/./hosts",
            "DELETE, /api/v1/hosts/./host-a",
            "POST,   /api/v1/x/../hosts",
            "POST,   /api/v1/%68osts",
            "DELETE, /api/v1/%68osts/host-a",
            "DELETE, /api/v1/hosts/host%2Da",
            "POST,   /API/v1/hosts",
            "POST,   /api/V1/Hosts",
            "POST,   /api/v1/hosts%2F",
            "POST,   /api/v1/hosts/..;/hosts",
            "POST,   /api/v1/hosts?x=/api/v1/requests",
            "POST,   /api/v1/hosts#/api/v1/requests",
    })
    void noSpellingOfAPathChangesTheRoleChecked(String method, String target) {
        Answer operator = send(method, target, Login.OPERATOR);
        Answer admin = send(method, target, Login.ADMIN);

        assertTrue(operator.status() >= 400, () -> "operator: " + operator.status() + " " + operator.body());
        if (admin.status() < 400) {
            assertEquals(403, operator.status(), "the method matched for the admin is refused to the operator");
        }
        Answer anonymous = send(method, target, null);
        assertTrue(anonymous.status() == 401 || anonymous.status() == 400 && !anonymous.body().startsWith("{"),
                () -> "anonymous: 401, or Jetty's own 400 for a path it refuses before any servlet: " + anonymous);
    }

    @Test
    void aPathTheRuntimeMatchesAnswersAsTheCanonicalOne() {
        assertEquals(201, send("POST", "/api/v1/hosts;x=1", Login.ADMIN).status());
        assertEquals(204, send("DELETE", "/api/v1/hosts;x/host-a", Login.ADMIN).status());
        assertEquals(List.of("host-a"), stack.manager.unregistered);
        assertEquals(200, send("GET", "/api/v1/hosts/", Login.VIEWER).status());
    }

    @Test
    void aHeadRequestIsCheckedAsTheGetItRuns() {
        assertEquals(403, stack.send("HEAD", "/api/v1/vms", Login.GUEST.header(), null, null).status());
        Answer viewer = stack.send("HEAD", "/api/v1/vms", Login.VIEWER.header(), null, null);
        assertEquals(200, viewer.status());
        assertEquals("", viewer.body());
    }

    /** CXF answers OPTIONS itself (200 and an Allow header), without a resource method: refused after login. */
    @ParameterizedTest
    @ValueSource(strings = {"/api/v1/hosts", "/api/v1/hosts/host-a", "/api/v1/requests", "/api/v1/vms"})
    void optionsIs401WithoutLoginAnd403WithIt(String path) {
        Answer anonymous = stack.send("OPTIONS", path, null, null, null);
        anonymous.problem(401);
        assertNull(anonymous.header("Allow"));
        for (Login login : LADDER) {
            Answer answer = stack.send("OPTIONS", path, login.header(), null, null);
            answer.problem(403);
            assertNull(answer.header("Allow"), "no list of methods: " + answer.headers());
        }
    }

    /** With CXF's generator switched off, {@code _wadl} is an ordinary query parameter. */
    @ParameterizedTest
    @ValueSource(strings = {"/api/v1/hosts?_wadl", "/api/v1?_wadl", "/?_wadl", "/api/v1/vms?_wadl&_type=json",
            "/api/v1/hosts?_wadl=", "/api/v1/hosts;x?_wadl"})
    void wadlIsNeverGenerated(String target) {
        Answer anonymous = stack.send("GET", target, null, null, null);
        anonymous.problem(401);
        Answer viewer = stack.send("GET", target, Login.VIEWER.header(), null, null);
        assertFalse(viewer.body().contains("wadl"), viewer.body());
        assertFalse(viewer.contentType().contains("xml"), viewer.contentType());
        Answer guest = stack.send("GET", target, Login.GUEST.header(), null, null);
        assertTrue(guest.status() == 403 || guest.status() == 404, guest.body());
    }

    /** Should CXF's own generator answer (WadlOff missing), its answer is refused all the same. */
    @Test
    void cxfsOwnWadlIsRefusedByTheRoleCheck() {
        try (RestStack cxfWadl = RestStack.startWithCxfWadl()) {
            List<String> bodies = new ArrayList<>();
            for (String target : List.of("/api/v1/hosts?_wadl", "/api/v1?_wadl", "/?_wadl")) {
                for (Login login : new Login[] {null, Login.VIEWER, Login.ADMIN}) {
                    Answer answer = cxfWadl.send("GET", target, login == null ? null : login.header(), null, null);
                    answer.problem(401);
                    assertEquals(Problems.CHALLENGE, answer.header("WWW-Authenticate"));
                    bodies.add(answer.body());
                }
            }
            assertTrue(bodies.stream().noneMatch(body -> body.contains("application xmlns") || body.contains("resource")),
                    bodies.toString());
        }
    }
}
