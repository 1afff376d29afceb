/** Live figures of the running server, kept bounded: counters plus the most recent log entries. */

export interface RequestLogEntry {
  time: Date;
  client: string;
  method: string;
  target: string;
  /** Undefined while the handler has not produced a response, 0 when it threw. */
  status?: number;
  /** The response's Content-Length when it declared one. */
  bytes?: number;
  milliseconds?: number;
}

export interface ErrorEntry {
  time: Date;
  message: string;
}

const maxLogEntries = 500;
const maxErrorEntries = 100;

export class ServerStats {
  connectionsOpen = 0;
  connectionsTotal = 0;
  requestsTotal = 0;
  requestsActive = 0;
  /** Requests the server refused itself (malformed, over a limit). */
  requestsRefused = 0;
  websocketsOpen = 0;
  errorsTotal = 0;
  readonly log: RequestLogEntry[] = [];
  readonly errors: ErrorEntry[] = [];
  /** Log entries added or completed since the panel last took them, so it redraws only those rows. */
  #changedEntries = new Set<RequestLogEntry>();
  #listeners = new Set<() => void>();

  /** Called (at most once per change batch, by the caller's own scheduling) whenever something changed. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  changed(): void {
    for (const listener of this.#listeners) listener();
  }

  addLogEntry(entry: RequestLogEntry): void {
    this.log.push(entry);
    if (this.log.length > maxLogEntries) {
      for (const dropped of this.log.splice(0, this.log.length - maxLogEntries)) this.#changedEntries.delete(dropped);
    }
    this.logEntryChanged(entry);
  }

  logEntryChanged(entry: RequestLogEntry): void {
    this.#changedEntries.add(entry);
    this.changed();
  }

  /** The entries changed since the last call, oldest first. */
  takeChangedEntries(): RequestLogEntry[] {
    const entries = [...this.#changedEntries];
    this.#changedEntries.clear();
    return entries;
  }

  addError(message: string): void {
    this.errorsTotal++;
    this.errors.push({ time: new Date(), message });
    if (this.errors.length > maxErrorEntries) this.errors.splice(0, this.errors.length - maxErrorEntries);
    this.changed();
  }

  clearLog(): void {
    this.log.length = 0;
    this.#changedEntries.clear();
    this.changed();
  }

  clearErrors(): void {
    this.errors.length = 0;
    this.changed();
  }

  /** Plain figures for automation (the launcher and tests read them over DevTools). */
  snapshot(): Record<string, number> {
    return {
      connectionsOpen: this.connectionsOpen,
      connectionsTotal: this.connectionsTotal,
      requestsTotal: this.requestsTotal,
      requestsActive: this.requestsActive,
      requestsRefused: this.requestsRefused,
      websocketsOpen: this.websocketsOpen,
      errorsTotal: this.errorsTotal,
    };
  }
}
