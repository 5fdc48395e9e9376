package org.servicefarm.driver.qemu.internal;

import java.io.IOException;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The JSON this bundle speaks (QMP, its own state files, checkpoint manifests and VM records), through Jackson.
 * Objects parse to maps, arrays to lists, integral numbers to {@link Long}, other numbers to {@link Double}; records
 * bind both ways ({@link #MAPPER}). Input is bounded in nesting depth and string length, since a QMP peer is a
 * process that runs guest code and is not trusted.
 */
public final class Json {

    /** Deepest nesting accepted; QMP replies nest a few levels. */
    static final int MAX_DEPTH = 64;
    /** Longest string accepted; QMP lines are bounded by {@link QmpClient#MAX_LINE} anyway. */
    static final int MAX_STRING = 8 * 1024 * 1024;

    /** Strict JSON: no comments, single quotes, trailing tokens or unknown record fields; bounded input. */
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_DEPTH).maxStringLength(MAX_STRING).build());
    }

    private static final TypeReference<Object> ANY = new TypeReference<>() { };

    private Json() {
    }

    /**
     * Parses one JSON value filling all of {@code text} (surrounding white space allowed).
     *
     * @throws IllegalArgumentException saying where, when the text is not JSON or nests deeper than {@value #MAX_DEPTH}
     */
    public static Object parse(String text) {
        try {
            return MAPPER.readValue(text, ANY);
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            if (message != null && message.contains("nesting depth")) {
                throw new IllegalArgumentException("JSON nested deeper than " + MAX_DEPTH + " levels", e);
            }
            throw new IllegalArgumentException("not JSON: " + Checks.excerpt(message), e);
        }
    }

    /** Parses a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object value = parse(text);
        if (!(value instanceof Map)) {
            throw new IllegalArgumentException("not a JSON object");
        }
        return (Map<String, Object>) value;
    }

    /** Reads a record (or any bound type) from {@code text}. */
    static <T> T read(String text, Class<T> type) throws IOException {
        try {
            return MAPPER.readValue(text, type);
        } catch (JsonProcessingException e) {
            throw new IOException("not a " + type.getSimpleName() + ": " + Checks.excerpt(e.getOriginalMessage()), e);
        }
    }

    /** Writes {@code value}: maps, lists, strings, finite numbers, booleans, null, records. */
    public static String write(Object value) {
        return write(value, false);
    }

    /** Like {@link #write(Object)} with indentation, for files people read. */
    public static String writePretty(Object value) {
        return write(value, true) + "\n";
    }

    private static String write(Object value, boolean pretty) {
        refuseNonFinite(value);
        if (value != null && value.getClass() == Object.class) {
            throw new IllegalArgumentException("not a JSON value: " + value);
        }
        try {
            return pretty ? MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value)
                    : MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** JSON has no NaN or infinity (Jackson would write them as strings). */
    private static void refuseNonFinite(Object value) {
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException("JSON has no " + d);
            }
        } else if (value instanceof Map<?, ?> map) {
            map.values().forEach(Json::refuseNonFinite);
        } else if (value instanceof Iterable<?> list) {
            list.forEach(Json::refuseNonFinite);
        }
    }

    // ---- typed access to parsed values -------------------------------------------------------

    /** The member {@code key} of {@code map} as a string, or {@code null}. */
    static String string(Map<String, Object> map, String key) {
        Object value = map.get(key);
        return value instanceof String ? (String) value : null;
    }

    /** The member {@code key} as a long, or {@code fallback} when absent or not a number. */
    static long number(Map<String, Object> map, String key, long fallback) {
        Object value = map.get(key);
        return value instanceof Number ? ((Number) value).longValue() : fallback;
    }

    /** The member {@code key} as an object, or an empty map. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Map<String, Object> map, String key) {
        Object value = map.get(key);
        return value instanceof Map ? (Map<String, Object>) value : Collections.emptyMap();
    }

    /** The member {@code key} as a list, or an empty list. */
    @SuppressWarnings("unchecked")
    static List<Object> array(Map<String, Object> map, String key) {
        Object value = map.get(key);
        return value instanceof List ? (List<Object>) value : Collections.emptyList();
    }
}
