/** Brokkr message and session model and the broker management service. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.3.0")
package io.brokkr.api;
