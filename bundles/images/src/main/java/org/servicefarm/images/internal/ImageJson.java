package org.servicefarm.images.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

import org.servicefarm.api.Environment;
import org.servicefarm.api.Offering;
import org.servicefarm.api.driver.VmSpec;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code image.json}, what an image directory says about itself. Its first fields are those of
 * {@code components/compose} (key, components, layers, cmdline, disk, minMemoryMiB, services), so the
 * reference scripts can boot an image built here and this store can use one composed there; the rest
 * are this store's (schema, offering, guest services, artifact digests, size, when and how long it
 * took). A field a compose-built image lacks is null.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record ImageJson(String key, List<String> components, List<String> layers, String cmdline, Boolean disk,
                 Integer minMemoryMiB, List<String> services, String schema, OfferingJson offering,
                 List<ServiceJson> guestServices, String kernelSha256, String diskSha256, String initrdSha256,
                 Long sizeBytes, String createdAt, Long buildMillis) {

    static final String SCHEMA = "servicefarm.image/1";
    static final String FILE = "image.json";
    /** An image.json larger than this is not an image's. */
    static final long MAX_BYTES = 1L << 20;

    record OfferingJson(String service, String version, EnvironmentJson environment, String securityLevel) {

        static OfferingJson of(Offering offering) {
            Environment env = offering.environment();
            return new OfferingJson(offering.service(), offering.version(),
                    new EnvironmentJson(env.os(), env.server(), env.runtime(), env.patches()), offering.securityLevel());
        }

        /** The offering, checked by the API's records; throws if any name breaks their grammar. */
        Offering toOffering() {
            return new Offering(service, version, new Environment(environment.os(), environment.server(),
                    environment.runtime(), environment.patches()), securityLevel);
        }
    }

    record EnvironmentJson(String os, String server, String runtime, List<String> patches) {
    }

    record ServiceJson(String name, int guestPort) {

        static List<ServiceJson> of(List<VmSpec.GuestService> services) {
            return services.stream().map(s -> new ServiceJson(s.name(), s.guestPort())).toList();
        }

        VmSpec.GuestService toGuestService() {
            return new VmSpec.GuestService(name, guestPort);
        }
    }

    static ImageJson read(Path file) throws IOException {
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + " is larger than " + MAX_BYTES + " bytes");
        }
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return Manifests.MAPPER.readValue(in, ImageJson.class);
        }
    }

    byte[] bytes() throws IOException {
        return Manifests.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(this);
    }
}
