package org.servicefarm.api.keepalive;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.osgi.service.component.annotations.ComponentPropertyType;

/** Sets {@link KeepAlivePolicy#NAME} on a policy component, e.g. {@code @KeepAliveName("fixed")}. */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface KeepAliveName {
    String value();
}
