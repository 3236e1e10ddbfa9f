package io.brokkr.journal;

import java.io.IOException;

/**
 * The append was refused because the records queued for the writer thread already take
 * {@link JournalConfig#maxQueuedBytes()}: the disk does not keep up. The journal fails fast instead of blocking the
 * caller (an event loop); the caller decides whether to retry later, drop, or push back on its own producer.
 */
public final class JournalFullException extends IOException {
  private static final long serialVersionUID = 1L;

  /** @param message what was refused and the bound that was hit */
  public JournalFullException(String message) {
    super(message);
  }
}
