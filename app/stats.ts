/** Live figures of the running server, kept bounded: counters plus the most recent log entries. */

export interface RequestLogEntry {
  /** When the request arrived, in milliseconds since the epoch (a Date per request costs more than a number). */
  time: number;
  /** The connection's peer; its text is made only for the rows shown (`clientOf`). */
  peer: { remoteAddress: string; remotePort: number };
  method: string;
  /** The request's URL; the panel shows its path and query (`targetOf`). */
  url: string;
  /** Undefined while the handler has not produced a response, 0 when it threw. */
  status: number | undefined;
  /** The response's Content-Length when it declared one. */
  bytes: number | undefined;
  milliseconds: number | undefined;
}

/** The client column of a log entry. */
export function clientOf(entry: RequestLogEntry): string {
  return `${entry.peer.remoteAddress}:${entry.peer.remotePort}`;
}

export interface ErrorEntry {
  time: Date;
  message: string;
}

const maxLogEntries = 500;
/** The log may run this far over its size before it is trimmed: trimming per request would move 500 entries each time. */
const logSlack = 100;
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
  /** The most recent requests, oldest first: at least the last 500 (up to 600 between trims). */
  readonly log: RequestLogEntry[] = [];
  readonly errors: ErrorEntry[] = [];
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
    if (this.log.length > maxLogEntries + logSlack) this.log.splice(0, this.log.length - maxLogEntries);
    this.changed();
  }

  addError(message: string): void {
    this.errorsTotal++;
    this.errors.push({ time: new Date(), message });
    if (this.errors.length > maxErrorEntries) this.errors.splice(0, this.errors.length - maxErrorEntries);
    this.changed();
  }

  clearLog(): void {
    this.log.length = 0;
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
