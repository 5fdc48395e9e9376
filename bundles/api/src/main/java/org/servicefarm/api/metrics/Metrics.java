package org.servicefarm.api.metrics;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The farm's metrics (requests by outcome and activation, latencies, VMs by state, host use, images, keep-alive
 * decisions), registered by the metrics bundle when it is installed.
 */
@ProviderType
public interface Metrics {

    /** The Prometheus text exposition format's media type, which {@link #scrape} writes. */
    String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    /** Every metric as Prometheus text (format 0.0.4), read views refreshed first. */
    String scrape();
}
