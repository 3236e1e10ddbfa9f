/** Storage SPI: message sinks (connectors) fed from the broker's journal, and broker persistence. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("3.1.0")
package io.brokkr.api.storage;
