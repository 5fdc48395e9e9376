package org.servicefarm.rest.internal;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What a resource method answers, as "STATUS description" each, e.g. {@code "404 no such host"}: the responses of
 * its operation in the OpenAPI document ({@link OpenApi}). Every resource method must say (OpenApiTest checks it);
 * the answers every method shares (401, 403, 429, 500) are added by the document itself.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@interface Answers {
    /** What a directory appliance (its requests forwarded to a manager appliance) answers to what only a manager does. */
    String NOT_HERE = "501 this appliance's manager does not do this (a directory appliance: detail names the manager "
            + "to ask)";

    String[] value();
}
