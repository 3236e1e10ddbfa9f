/** Hooks: inline message interceptors and asynchronous observers. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package io.brokkr.api.intercept;
