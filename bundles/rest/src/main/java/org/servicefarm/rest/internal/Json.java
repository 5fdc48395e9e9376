package org.servicefarm.rest.internal;

import java.io.IOException;
import java.io.UncheckedIOException;

import org.servicefarm.api.InvalidRequestException;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The bundle's own Jackson mapper. Bodies are read as trees and checked field by field (see
 * {@link JsonMapping}) so that every client mistake becomes a precise 400, and responses are
 * written here so that the wire shape is exactly what the unit tests see.
 */
final class Json {

    static final String MEDIA_TYPE = "application/json";

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    private Json() {
    }

    /** Parses a request body; malformed JSON is the client's mistake. */
    static JsonNode parse(byte[] body) {
        if (body == null || body.length == 0) {
            throw new InvalidRequestException("the request body is empty; a JSON object is expected");
        }
        try {
            JsonNode node = MAPPER.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new InvalidRequestException("the request body is empty; a JSON object is expected");
            }
            return node;
        } catch (JsonProcessingException e) {
            // The original message only: Jackson's full message quotes the body back.
            JsonLocation where = e.getLocation();
            throw new InvalidRequestException("malformed JSON" + (where == null ? "" : " at line "
                    + where.getLineNr() + ", column " + where.getColumnNr()) + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }
}
