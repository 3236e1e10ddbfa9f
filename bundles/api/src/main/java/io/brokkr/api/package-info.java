/** Brokkr message and session model and the broker management service. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.4.0")
package io.brokkr.api;
