/** Storage SPI: message sinks (connectors) and broker persistence. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.0.0")
package io.brokkr.api.storage;
