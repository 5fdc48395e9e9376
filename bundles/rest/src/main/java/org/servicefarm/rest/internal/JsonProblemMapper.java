package org.servicefarm.rest.internal;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import javax.ws.rs.core.Response;
import javax.ws.rs.ext.ExceptionMapper;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;
import org.servicefarm.rest.internal.Problems.Problem;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * Turns Jackson's errors while reading a body into precise 400 problems in the v1 contract's own
 * words: the offending field by its JSON path ({@code environment.os}, {@code capacity.vcpus},
 * {@code environment.patches[0]}), what was expected ("must be a whole number, not a string"),
 * the known fields for an unknown one, line and column for malformed JSON. Never a Java class,
 * package or Jackson feature, and never the client's value: field names the client made up are
 * shortened with {@link Names#excerpt}. An error that is the server's (a type Jackson cannot bind,
 * a value it cannot write) is a 500 as in {@link ProblemMapper}.
 */
@Component(service = ExceptionMapper.class)
@JaxrsExtension
@JaxrsName(JsonProblemMapper.NAME)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
public class JsonProblemMapper implements ExceptionMapper<JsonProcessingException> {

    static final String NAME = "servicefarm-json-problems";

    @Override
    public Response toResponse(JsonProcessingException failure) {
        Problem problem = problem(failure);
        return problem == null ? ProblemMapper.internalError(failure) : Problems.response(problem);
    }

    /** The 400 for a client's mistake, or {@code null} when the failure is the server's. */
    static Problem problem(JsonProcessingException failure) {
        InvalidRequestException refused = cause(failure, InvalidRequestException.class);
        if (refused != null) {
            // A check of ours inside the binding, e.g. a property value that is neither text nor a number.
            return Problems.invalid(refused.field(), refused.getMessage());
        }
        if (failure instanceof InvalidDefinitionException) {
            return null;
        }
        if (failure instanceof UnrecognizedPropertyException unknown) {
            List<JsonMappingException.Reference> path = unknown.getPath();
            String prefix = path(path.subList(0, Math.max(0, path.size() - 1)));
            prefix = prefix.isEmpty() ? "" : prefix + ".";
            String field = prefix + Names.excerpt(unknown.getPropertyName());
            TreeSet<String> known = new TreeSet<>();
            for (Object name : unknown.getKnownPropertyIds()) {
                known.add(prefix + name);
            }
            return Problems.invalid(field, "unknown field " + field + "; known fields are " + known);
        }
        if (failure instanceof MismatchedInputException mismatch) {
            String field = path(mismatch.getPath());
            String sent = sent(mismatch.getProcessor());
            if (field.isEmpty()) {
                boolean trailing = mismatch.getOriginalMessage() != null
                        && mismatch.getOriginalMessage().startsWith("Trailing token");
                return Problems.invalid(null, trailing
                        ? "the request body must hold one JSON object, but more follows" + at(mismatch.getLocation())
                        : "the request body must be a JSON object" + (sent == null ? "" : ", not " + sent));
            }
            return Problems.invalid(field, field + " must be " + expected(mismatch.getTargetType())
                    + (sent == null ? "" : ", not " + sent));
        }
        if (failure instanceof JsonMappingException mapping) {
            // Binding wraps what the parser raised inside a field (a number out of range) with the field's path.
            return mapping.getCause() instanceof JsonProcessingException parsing
                    && !(parsing instanceof JsonMappingException) ? unreadable(parsing, path(mapping.getPath())) : null;
        }
        return unreadable(failure, path(failure.getProcessor()));
    }

    /** The 400 for JSON the parser could not read, or {@code null} when the failure is not the parser's. */
    private static Problem unreadable(JsonProcessingException failure, String field) {
        String where = at(failure.getLocation());
        if (failure instanceof InputCoercionException) {
            return Problems.invalid(field.isEmpty() ? null : field,
                    (field.isEmpty() ? "a number" : field) + " is out of range" + where);
        }
        if (failure instanceof StreamConstraintsException) {
            return Problems.invalid(null, "the request body exceeds what JSON may hold here" + where
                    + ": a name, string or number too long, or objects and arrays nested too deep");
        }
        if (!(failure instanceof StreamReadException)) {
            return null;
        }
        if (failure.getOriginalMessage() != null && failure.getOriginalMessage().startsWith("Duplicate field")) {
            return Problems.invalid(field.isEmpty() ? null : field, "duplicate field " + field + where);
        }
        return Problems.invalid(null, "malformed JSON" + where
                + (failure instanceof JsonEOFException ? ": the body ends before the JSON value does" : ""));
    }

    /** The JSON path of a binding error: {@code capacity.vcpus}, {@code environment.patches[0]}. */
    private static String path(List<JsonMappingException.Reference> references) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference reference : references) {
            if (reference.getFieldName() != null) {
                if (!path.isEmpty()) {
                    path.append('.');
                }
                path.append(Names.excerpt(reference.getFieldName()));
            } else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    /** The JSON path where a parser stopped, from its nesting of objects and arrays. */
    private static String path(Object processor) {
        if (!(processor instanceof JsonParser parser)) {
            return "";
        }
        StringBuilder path = new StringBuilder();
        for (JsonStreamContext context = parser.getParsingContext(); context != null && !context.inRoot();
             context = context.getParent()) {
            if (context.inObject() && context.getCurrentName() != null) {
                path.insert(0, Names.excerpt(context.getCurrentName())).insert(0, '.');
            } else if (context.inArray() && context.getCurrentIndex() >= 0) {
                path.insert(0, "[" + context.getCurrentIndex() + "]");
            }
        }
        return path.length() > 0 && path.charAt(0) == '.' ? path.substring(1) : path.toString();
    }

    /** What the contract expects of a field bound to {@code type}, in the contract's words. */
    static String expected(Class<?> type) {
        if (type == null) {
            return "a valid value";
        }
        if (CharSequence.class.isAssignableFrom(type) || type == char.class || type == Character.class) {
            return "a string";
        }
        if (type == int.class || type == long.class || type == short.class || type == byte.class
                || type == Integer.class || type == Long.class || type == Short.class || type == Byte.class
                || type == BigInteger.class) {
            return "a whole number";
        }
        if (type == double.class || type == float.class || Number.class.isAssignableFrom(type)
                || type == BigDecimal.class) {
            return "a number";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || !type.isPrimitive()) {
            return "a JSON object";
        }
        return "a valid value";
    }

    /** What the client sent where the parser stopped, by its JSON kind only (never the value). */
    private static String sent(Object processor) {
        if (!(processor instanceof JsonParser parser) || parser.currentToken() == null) {
            return null;
        }
        JsonToken token = parser.currentToken();
        return switch (token) {
            case START_OBJECT, END_OBJECT, FIELD_NAME -> "an object";
            case START_ARRAY, END_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "a whole number";
            case VALUE_NUMBER_FLOAT -> "a number with a fraction";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> null;
        };
    }

    private static String at(JsonLocation location) {
        return location == null || location.getLineNr() < 1 ? ""
                : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    private static <T extends Throwable> T cause(Throwable failure, Class<T> type) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (type.isInstance(cause)) {
                return type.cast(cause);
            }
        }
        return null;
    }
}
