package org.servicefarm.rest.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.ws.rs.DELETE;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.PUT;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.container.Suspended;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.MediaType;

/**
 * The API's OpenAPI 3 document, made from the resource classes themselves by reflection (their JAX-RS annotations,
 * {@code @RolesAllowed} and {@link Answers}), so that it cannot drift from what is served: a path, method, parameter,
 * role or answer exists in the document exactly when it exists in the code. Request and response bodies are named
 * (their media types and Java record), not described field by field. swagger-core's reader was not used: it pulls
 * a dozen bundles (YAML, classgraph, ...) into the appliance for what a hundred lines do here.
 */
final class OpenApi {

    /** Every resource class of the API; OpenApiTest checks that no class with a {@code @Path} is missing. */
    static final List<Class<?>> RESOURCES = List.of(RequestResource.class, CatalogResource.class, VmResource.class,
            HostResource.class, ImageResource.class, ComponentResource.class, PopularityResource.class,
            StatusResource.class, OpenApiResource.class, AuditResource.class, KeepAliveResource.class,
            NativeResource.class);

    /** Answers any method may give, whatever it declares. */
    private static final Map<String, String> COMMON = Map.of(
            "401", "no login, or a wrong one (WWW-Authenticate: Basic)",
            "403", "the login lacks the role the operation needs (x-roles)",
            "429", "too many failed logins: Retry-After says when to try again",
            "500", "the server failed; the problem names an incident id in its log",
            "503", "the API is starting or being published again (problem type starting): nothing was done, ask "
                    + "again after Retry-After");

    private OpenApi() {
    }

    static Map<String, Object> document(String version) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("openapi", "3.0.3");
        doc.put("info", Map.of("title", "ServiceFarm", "version", version,
                "description", "Ask for a service in an environment and get where to reach it. Every answer carries "
                        + "X-Request-Id; errors are application/problem+json (RFC 9457) with requestId."));
        doc.put("servers", List.of(Map.of("url", "/")));
        doc.put("components", Map.of("securitySchemes", Map.of("basic", Map.of("type", "http", "scheme", "basic"))));
        doc.put("security", List.of(Map.of("basic", List.of())));
        Map<String, Map<String, Object>> paths = new java.util.TreeMap<>();
        for (Class<?> resource : RESOURCES) {
            String base = resource.getAnnotation(Path.class).value();
            List<Method> methods = new ArrayList<>(Arrays.asList(resource.getMethods()));
            methods.sort(Comparator.comparing(Method::getName));
            for (Method method : methods) {
                String verb = verb(method);
                if (verb == null) {
                    continue;
                }
                Path sub = method.getAnnotation(Path.class);
                String path = "/" + ApiApplication.BASE + "/" + join(base, sub == null ? "" : sub.value());
                paths.computeIfAbsent(path, p -> new LinkedHashMap<>()).put(verb, operation(resource, method));
            }
        }
        doc.put("paths", paths);
        return doc;
    }

    static String verb(Method method) {
        if (method.isAnnotationPresent(GET.class)) {
            return "get";
        }
        if (method.isAnnotationPresent(POST.class)) {
            return "post";
        }
        if (method.isAnnotationPresent(PUT.class)) {
            return "put";
        }
        return method.isAnnotationPresent(DELETE.class) ? "delete" : null;
    }

    private static Map<String, Object> operation(Class<?> resource, Method method) {
        Map<String, Object> operation = new LinkedHashMap<>();
        operation.put("operationId", resource.getSimpleName().replace("Resource", "") + "." + method.getName());
        operation.put("tags", List.of(resource.getSimpleName().replace("Resource", "").toLowerCase(java.util.Locale.ROOT)));
        operation.put("x-roles", RoleFilter.rolesAllowed(method, resource));
        List<Map<String, Object>> parameters = new ArrayList<>();
        Map<String, Object> body = null;
        for (Parameter parameter : method.getParameters()) {
            PathParam pathParam = parameter.getAnnotation(PathParam.class);
            QueryParam queryParam = parameter.getAnnotation(QueryParam.class);
            if (pathParam != null) {
                parameters.add(Map.of("name", pathParam.value(), "in", "path", "required", true,
                        "schema", Map.of("type", "string")));
            } else if (queryParam != null) {
                parameters.add(Map.of("name", queryParam.value(), "in", "query", "required", false,
                        "schema", Map.of("type", schemaType(parameter.getType()))));
            } else if (!injected(parameter)) {
                body = Map.of("required", true, "content", Map.of(MediaType.APPLICATION_JSON,
                        Map.of("schema", Map.of("type", "object", "title", parameter.getType().getSimpleName()))));
            }
        }
        if (!parameters.isEmpty()) {
            operation.put("parameters", parameters);
        }
        if (body != null) {
            operation.put("requestBody", body);
        }
        Map<String, Object> responses = new java.util.TreeMap<>();
        String produced = produced(resource, method);
        for (String answer : method.getAnnotation(Answers.class) == null ? new String[0]
                : method.getAnnotation(Answers.class).value()) {
            String status = answer.substring(0, 3);
            String description = answer.substring(4);
            // errors are problems, but for RETRY_LATER's 503, an outcome in the operation's own type
            boolean problem = (status.startsWith("4") || status.startsWith("5")) && !status.equals("503");
            String type = problem ? Problems.MEDIA_TYPE : produced;
            responses.put(status, status.equals("204") ? Map.of("description", description)
                    : Map.of("description", description, "content", Map.of(type, Map.of())));
        }
        COMMON.forEach((status, description) -> responses.putIfAbsent(status,
                Map.of("description", description, "content", Map.of(Problems.MEDIA_TYPE, Map.of()))));
        operation.put("responses", responses);
        return operation;
    }

    private static boolean injected(Parameter parameter) {
        for (Annotation annotation : parameter.getAnnotations()) {
            if (annotation instanceof Context || annotation instanceof Suspended
                    || annotation.annotationType().getName().startsWith("javax.ws.rs.")) {
                return true;
            }
        }
        return false;
    }

    private static String produced(Class<?> resource, Method method) {
        Produces produces = method.getAnnotation(Produces.class);
        if (produces == null) {
            produces = resource.getAnnotation(Produces.class);
        }
        return produces == null ? MediaType.APPLICATION_JSON : produces.value()[0];
    }

    private static String schemaType(Class<?> type) {
        if (type == boolean.class || type == Boolean.class) {
            return "boolean";
        }
        return type == int.class || type == long.class || type == Integer.class || type == Long.class ? "integer"
                : "string";
    }

    private static String join(String base, String sub) {
        String a = base.replaceAll("^/+|/+$", "");
        String b = sub.replaceAll("^/+|/+$", "");
        return b.isEmpty() ? a : a + "/" + b;
    }
}
