package org.servicefarm.api.keepalive;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.osgi.service.component.annotations.ComponentPropertyType;

/**
 * Sets {@link KeepAlivePolicy#NAME} on a policy component, e.g. {@code @KeepaliveName("fixed")}. Spelt so because DS
 * names a single-element property type's property after the type: {@code KeepaliveName} gives
 * {@code keepalive.name} ({@code KeepAliveName} would give {@code keep.alive.name}, which no target matches).
 */
@ComponentPropertyType
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface KeepaliveName {
    String value();
}
