/**
 * Which protocol an accepted connection speaks: HTTP/2 when TLS agreed on "h2" by ALPN, or when the first bytes are
 * the HTTP/2 connection preface (h2c with prior knowledge, RFC 9113 §3.3); HTTP/1.1 otherwise, given the bytes
 * already read. Only a connection's first read differs from HTTP/1.1 alone: an HTTP/1.1 request's first byte
 * already differs from the preface's, except for a `PRI` method, read until it does.
 */
import { HttpConnection, type ConnectionHost } from "../http/connection.js";
import type { DeadlineHolder } from "../http/deadlines.js";
import { concatBytes, EMPTY } from "../shared/bytes.js";
import { socketIo } from "../sockets/direct-io.js";
import type { TCPSocket } from "../sockets/types.js";
import { PREFACE } from "./frames.js";
import { Http2Connection, type Http2Options } from "./connection.js";

/** What the server keeps of a connection. */
export interface ServedConnection {
  run(): Promise<void>;
  closeIfIdle(): void;
  abort(): void;
}

/** Whether `bytes` agree with the preface as far as they go. */
function prefaceSoFar(bytes: Uint8Array): boolean {
  const length = Math.min(bytes.length, PREFACE.length);
  for (let i = 0; i < length; i++) if (bytes[i] !== PREFACE[i]) return false;
  return true;
}

/** An accepted connection whose protocol is decided by its first bytes (or its ALPN). */
export class SniffedConnection implements ServedConnection, DeadlineHolder {
  private chosen: ServedConnection | undefined;
  /** Shutdown or a forced close came before the protocol was known. */
  private stop: "idle" | "abort" | undefined;
  private cancel: ((reason?: string) => void) | undefined;
  /** When the wait for the first bytes expires (Infinity: not waiting). */
  private sniffDeadline = Infinity;

  constructor(
    private readonly socket: TCPSocket,
    private readonly host: ConnectionHost,
    private readonly http2?: Partial<Http2Options>,
  ) {}

  async run(): Promise<void> {
    let opened: Awaited<TCPSocket["opened"]>;
    try {
      opened = await this.socket.opened;
    } catch {
      // As HttpConnection does: the failure is reported and the socket closed.
      this.chosen = new HttpConnection(this.socket, this.host);
      return this.chosen.run();
    }
    const io = socketIo(opened);
    let head: Uint8Array = EMPTY;
    if (opened.tls?.alpnProtocol !== "h2") {
      this.sniffDeadline = Date.now() + this.host.limits.idleTimeout;
      this.host.deadlines.watch(this);
      this.cancel = (reason = "server shutting down") => io.reader.cancel(reason).catch(() => {});
      try {
        while (head.length < PREFACE.length && prefaceSoFar(head)) {
          const { value, done } = await io.reader.read();
          if (done) break;
          head = concatBytes(head, value);
        }
      } catch {
        // A failed read ends the connection: the chosen protocol sees the end.
      } finally {
        this.host.deadlines.unwatch(this);
        this.cancel = undefined;
      }
    }
    const http2 = opened.tls?.alpnProtocol === "h2" || (head.length >= PREFACE.length && prefaceSoFar(head));
    this.chosen = http2
      ? new Http2Connection(this.socket, this.host, { opened, io, head }, this.http2)
      : new HttpConnection(this.socket, this.host, false, { io, head });
    const run = this.chosen.run();
    if (this.stop === "idle") this.chosen.closeIfIdle();
    else if (this.stop === "abort") this.chosen.abort();
    return run;
  }

  checkDeadline(now: number): void {
    if (now < this.sniffDeadline) return;
    this.sniffDeadline = Infinity;
    this.cancel?.("timeout");
  }

  closeIfIdle(): void {
    if (this.chosen) {
      this.chosen.closeIfIdle();
      return;
    }
    this.stop ??= "idle";
    this.cancel?.();
  }

  abort(): void {
    if (this.chosen) {
      this.chosen.abort();
      return;
    }
    this.stop = "abort";
    this.cancel?.();
  }
}
