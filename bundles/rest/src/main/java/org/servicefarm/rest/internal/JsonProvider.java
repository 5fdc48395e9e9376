package org.servicefarm.rest.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Type;

import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.MultivaluedMap;
import javax.ws.rs.ext.MessageBodyReader;
import javax.ws.rs.ext.MessageBodyWriter;

import org.osgi.annotation.bundle.Capability;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsApplicationSelect;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsExtension;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsMediaType;
import org.osgi.service.jaxrs.whiteboard.propertytypes.JaxrsName;
import org.servicefarm.api.InvalidRequestException;

import com.fasterxml.jackson.jaxrs.json.JacksonJsonProvider;

/**
 * The JSON of the whiteboard's applications: Jackson's JAX-RS provider over the bundle's strict
 * mapper ({@link Json}), registered as an extension with the media type {@code application/json},
 * which {@code @JSONRequired} resources ask for; it takes the place of Aries' own Jackson provider
 * (two would be ambiguous). Request bodies are read with a cap of {@link Bodies#MAX_BYTES} (413
 * beyond) and must be a value, neither empty nor {@code null} (400).
 * <p>
 * The capability below is what {@code @JSONRequired} requires of the bundles installed with a
 * resource that carries it.
 */
@Component(service = {MessageBodyReader.class, MessageBodyWriter.class})
@JaxrsExtension
@JaxrsName(JsonProvider.NAME)
@JaxrsMediaType(MediaType.APPLICATION_JSON)
@JaxrsApplicationSelect("(osgi.jaxrs.name=*)")
@Capability(namespace = "osgi.service", attribute = {
        "objectClass:List<String>=\"javax.ws.rs.ext.MessageBodyReader,javax.ws.rs.ext.MessageBodyWriter\"",
        "osgi.jaxrs.media.type=" + MediaType.APPLICATION_JSON})
public class JsonProvider extends JacksonJsonProvider {

    static final String NAME = "servicefarm-json";

    public JsonProvider() {
        super(Json.MAPPER);
    }

    @Override
    public Object readFrom(Class<Object> type, Type genericType, Annotation[] annotations, MediaType mediaType,
                           MultivaluedMap<String, String> httpHeaders, InputStream entityStream) throws IOException {
        Object value = super.readFrom(type, genericType, annotations, mediaType, httpHeaders,
                new ByteArrayInputStream(Bodies.read(entityStream)));
        if (value == null) {
            throw new InvalidRequestException("the request body must be a JSON object, not null");
        }
        return value;
    }
}
