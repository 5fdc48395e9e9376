package org.servicefarm.api;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/** The service directory: which combinations are viable, computed from compatibility rules. */
@ProviderType
public interface DirectoryView {

    /** Resolves a request to a viable offering, filling the fields it leaves out, or says why none exists. */
    Resolution resolve(ServiceRequest request);

    /** Up to {@code limit} viable offerings, each postable as a request as it is. */
    List<Offering> offerings(int limit);

    /** Every component the directory knows. */
    List<CatalogComponent> components();

    /** The compatibility rules in force, as configured. */
    List<String> rules();

    /** The security levels from lowest to highest. */
    List<String> securityLevels();
}
