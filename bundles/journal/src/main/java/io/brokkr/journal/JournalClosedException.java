package io.brokkr.journal;

import java.io.IOException;

/** The append was refused because {@link Journal#close()} was called (or the journal failed and closed). */
public final class JournalClosedException extends IOException {
  private static final long serialVersionUID = 1L;

  /** @param message which journal was closed */
  public JournalClosedException(String message) {
    super(message);
  }
}
