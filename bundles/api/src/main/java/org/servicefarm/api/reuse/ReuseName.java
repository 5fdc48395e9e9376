package org.servicefarm.api.reuse;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.osgi.service.component.annotations.ComponentPropertyType;

/** Sets {@link ReusePolicy#NAME} on a policy component, e.g. {@code @ReuseName("cost")}. */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface ReuseName {
    String value();
}
