/**
 * An embedded append-only disk journal: records are appended once (group commit, acknowledged when forced to disk or, with a
 * force interval, when written),
 * read by named {@link io.brokkr.journal.Cursor cursors} with durable positions, and released when every cursor has
 * committed past them. See {@link io.brokkr.journal.Journal}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package io.brokkr.journal;
