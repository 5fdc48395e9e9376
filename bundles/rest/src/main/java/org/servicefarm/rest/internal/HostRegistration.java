package org.servicefarm.rest.internal;

import java.io.IOException;
import java.util.Map;

import org.servicefarm.api.Capacity;
import org.servicefarm.api.HostRecord;
import org.servicefarm.api.InvalidRequestException;
import org.servicefarm.api.Names;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.util.AccessPattern;

/**
 * The body of {@code POST /api/v1/hosts}, as the JSON provider binds it. The capacity and its three
 * amounts are required; the host record checks the rest. Driver properties are strings, and a
 * number or a boolean is taken as its text ({@code "bootMillis": 800}), as v1 always accepted. The speed is
 * optional (the farm's reference, 1, when left out).
 */
record HostRegistration(String name, String driver, String uri, CapacityBody capacity, Double costPerHour,
                        String securityZone,
                        @JsonDeserialize(contentUsing = PropertyValue.class) Map<String, String> properties,
                        Double speed) {

    record CapacityBody(Integer vcpus, Long memoryMiB, Integer vms) {
    }

    /**
     * @throws InvalidRequestException naming the field when one is missing or the host record refuses it
     */
    HostRecord toHostRecord() {
        if (capacity == null) {
            throw new InvalidRequestException("capacity", "capacity is required: {\"vcpus\":N,\"memoryMiB\":N,\"vms\":N}");
        }
        Capacity amounts = new Capacity(required("capacity.vcpus", capacity.vcpus()),
                required("capacity.memoryMiB", capacity.memoryMiB()), required("capacity.vms", capacity.vms()));
        return new HostRecord(name, driver, uri, amounts, costPerHour == null ? 0 : costPerHour, securityZone,
                properties, speed == null ? HostRecord.DEFAULT_SPEED : speed);
    }

    private static <T> T required(String field, T value) {
        if (value == null) {
            throw new InvalidRequestException(field, field + " is required");
        }
        return value;
    }

    /** A driver property's value: a string, or a number or boolean taken as its text; nothing else. */
    static final class PropertyValue extends JsonDeserializer<String> {

        @Override
        public String deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            if (parser.currentToken().isScalarValue()) {
                return parser.getText();
            }
            throw refused(parser.currentName());
        }

        @Override
        public AccessPattern getNullAccessPattern() {
            return AccessPattern.DYNAMIC;
        }

        @Override
        public String getNullValue(DeserializationContext context) {
            throw refused(context.getParser().getParsingContext().getCurrentName());
        }

        private static InvalidRequestException refused(String key) {
            String field = "properties." + Names.excerpt(key);
            return new InvalidRequestException(field, field + " must be a string, a number or a boolean");
        }
    }
}
