/**
 * The audit trail: who asked the farm for what, what was decided and why, and what the appliance repaired on its own.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.1")
package org.servicefarm.api.audit;
