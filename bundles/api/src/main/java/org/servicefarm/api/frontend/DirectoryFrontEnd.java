package org.servicefarm.api.frontend;

import org.osgi.annotation.versioning.ConsumerType;

/** A way clients reach the directory. Every registered front end runs; the manager lists them. */
@ConsumerType
public interface DirectoryFrontEnd {

    /** Service property (String): the front end's name, e.g. {@code rest}. */
    String NAME = "frontend.name";

    /** Where clients reach it, e.g. {@code http://host:8181/api/v1}. */
    String address();
}
