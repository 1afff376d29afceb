/**
 * One WebSocket connection after the handshake: reading and answering frames, the close handshake and
 * keepalive; what it sends goes through its `Sender` (sender.ts). The public APIs (Bun-style, Deno-style,
 * streams) are thin facades over this class.
 */

import type { UpgradedConnection } from "../shared/upgrade.js";
import type { DeflateParameters } from "./extensions.js";
import { deflateMessage } from "./deflate.js";
import {
  CloseCode,
  Opcode,
  ProtocolError,
  encodeClosePayload,
  encodeFrame,
  encodeTextFrame,
  isValidCloseCode,
  payloadOffset,
  toBytes,
  type BinaryData,
} from "./frames.js";
import { Receiver } from "./receiver.js";
import { SEND_HIGH_WATER_MARK, SendStatus, Sender } from "./sender.js";

export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

export interface ConnectionSettings {
  /** Largest incoming message in bytes (after decompression). */
  maxPayloadLength: number;
  /** Seconds without traffic before a keepalive ping; a peer silent for another period is dropped. 0 turns it off. */
  idleTimeout: number;
  /** Bytes queued for the peer above which sends are dropped (or the connection closed). */
  backpressureLimit: number;
  closeOnBackpressureLimit: boolean;
  /** Milliseconds to wait for the peer's close frame after ours before dropping the connection. */
  closeTimeout: number;
  deflate: DeflateParameters | undefined;
}

export interface ConnectionEvents {
  open(): void;
  message(data: string | Uint8Array): void;
  /** Once, when the connection is gone: the peer's close code (1005 none, 1006 no close frame). */
  close(code: number, reason: string, wasClean: boolean): void;
  /** The queue fell back under the high-water mark after a send reported backpressure. */
  drain(): void;
  /** A handler threw, or the connection was failed for a protocol violation. */
  error(error: unknown): void;
  ping?(payload: Uint8Array): void;
  pong?(payload: Uint8Array): void;
}

export class WebSocketConnection {
  readyState: number = ReadyState.CONNECTING;
  remoteAddress = "";
  private upgraded!: UpgradedConnection;
  private receiver: Receiver;
  private readonly sender: Sender;
  private readPause: Promise<void> | undefined;
  private resumeReading: (() => void) | undefined;
  private closeSent = false;
  /** The TCP connection is being closed after a close frame: its end is expected, not abnormal. */
  private tcpClosing = false;
  private finished = false;
  private markClosed!: () => void;
  /** Resolves once the connection is gone and `close` was reported. */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));
  private receivedSinceTick = true;
  private awaitingPong = false;
  private keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly events: ConnectionEvents,
  ) {
    this.receiver = new Receiver(
      {
        message: (data) => {
          if (this.readyState === ReadyState.OPEN) this.callHandler(() => this.events.message(data));
        },
        ping: (payload) => {
          if (!this.closeSent) this.sender.send(encodeFrame(Opcode.Pong, payload), 0);
          if (this.events.ping) this.callHandler(() => this.events.ping!(payload));
        },
        pong: (payload) => {
          if (this.events.pong) this.callHandler(() => this.events.pong!(payload));
        },
        close: (code, reason) => this.peerClosed(code, reason),
      },
      { maxPayloadLength: settings.maxPayloadLength, compression: settings.deflate !== undefined },
    );
    this.sender = new Sender({
      drain: () => {
        if (this.readyState === ReadyState.OPEN) this.callHandler(() => this.events.drain());
      },
      frameFailed: (error) => {
        // Compression failing is our fault, not the peer's: report and drop the connection.
        this.callHandler(() => this.events.error(error), false);
        this.terminate();
      },
      writeFailed: () => this.finish(CloseCode.Abnormal, "", false),
    });
  }

  /** Application bytes queued and not yet written to the socket. */
  get bufferedAmount(): number {
    return this.sender.bufferedAmount;
  }

  /** Starts the connection on a socket taken over from the HTTP loop. */
  attach(upgraded: UpgradedConnection): void {
    this.upgraded = upgraded;
    this.sender.writer = upgraded.writer;
    this.remoteAddress = upgraded.info.remoteAddress;
    this.readyState = ReadyState.OPEN;
    this.callHandler(() => this.events.open());
    if (this.settings.idleTimeout > 0) {
      this.keepaliveTimer = setInterval(() => this.keepaliveTick(), this.settings.idleTimeout);
    }
    void this.readLoop(upgraded.head);
  }

  /** The handshake never completed (its 101 could not be written): an error, then an abnormal close. */
  abandon(reason: unknown): void {
    if (this.readyState !== ReadyState.CONNECTING) return;
    this.finished = true;
    this.readyState = ReadyState.CLOSED;
    this.callHandler(() => this.events.error(reason), false);
    this.callHandler(() => this.events.close(CloseCode.Abnormal, "", false), false);
    this.markClosed();
  }

  /** Queues a message; returns its byte length, `SendStatus.Backpressure` (queued) or `SendStatus.Dropped`. */
  send(data: string | BinaryData, compress = true): number {
    if (typeof data === "string" && !(compress && this.settings.deflate && data.length >= this.settings.deflate.threshold)) {
      if (!this.admit()) return SendStatus.Dropped;
      const frame = encodeTextFrame(data);
      const size = frame.length - payloadOffset(frame);
      this.sender.send(frame, size);
      return this.sender.sendResult(size);
    }
    const opcode = typeof data === "string" ? Opcode.Text : Opcode.Binary;
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : toBytes(data);
    if (!this.admit()) return SendStatus.Dropped;
    if (compress && this.shouldCompress(bytes.length)) {
      this.sender.sendLater(
        deflateMessage(bytes).then((payload) => encodeFrame(opcode, payload, true, true)),
        bytes.length,
      );
    } else {
      this.sender.send(encodeFrame(opcode, bytes), bytes.length);
    }
    return this.sender.sendResult(bytes.length);
  }

  /** Sends a frame encoded once for many connections (pub/sub); `compressed` is used when this peer deflates. */
  sendShared(plain: Uint8Array, compressed: (() => Promise<Uint8Array>) | undefined, size: number): number {
    if (!this.admit()) return SendStatus.Dropped;
    if (compressed && this.shouldCompress(size)) this.sender.sendLater(compressed(), size);
    else this.sender.send(plain, size);
    return this.sender.sendResult(size);
  }

  /** Queues a binary message whose bytes are still being produced (a Blob being read), keeping send order. */
  sendLater(bytes: Promise<Uint8Array>, size: number): number {
    if (!this.admit()) return SendStatus.Dropped;
    this.sender.sendLater(
      bytes.then((data) =>
        this.shouldCompress(data.length)
          ? deflateMessage(data).then((payload) => encodeFrame(Opcode.Binary, payload, true, true))
          : encodeFrame(Opcode.Binary, data),
      ),
      size,
    );
    return this.sender.sendResult(size);
  }

  shouldCompress(size: number): boolean {
    const deflate = this.settings.deflate;
    return deflate !== undefined && size >= deflate.threshold && size <= deflate.maxCompressedMessage;
  }

  ping(data: string | BinaryData = new Uint8Array(0)): number {
    return this.sendControl(Opcode.Ping, data);
  }

  pong(data: string | BinaryData = new Uint8Array(0)): number {
    return this.sendControl(Opcode.Pong, data);
  }

  /** Starts the closing handshake; the connection ends when the peer answers (or after `closeTimeout`). */
  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.readyState !== ReadyState.OPEN) return;
    if (!isValidCloseCode(code)) throw new RangeError(`invalid close code ${code}`);
    this.readyState = ReadyState.CLOSING;
    this.sendClose(code, reason);
    this.closeTimer = setTimeout(() => this.terminate(), this.settings.closeTimeout);
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    if (this.finished) return;
    this.upgraded.writer.abort().catch(() => {});
    this.finish(CloseCode.Abnormal, "", false);
  }

  /** Resolves when the send queue is back under the high-water mark (at once when it already is). */
  whenDrained(): Promise<void> {
    return this.sender.whenDrained();
  }

  /** Stops reading from the peer until `resume()` (a consumer that cannot keep up). */
  pause(): void {
    this.readPause ??= new Promise((resolve) => (this.resumeReading = resolve));
  }

  resume(): void {
    this.resumeReading?.();
    this.readPause = this.resumeReading = undefined;
  }

  /** Runs `callback` with sends batched into as few socket writes as possible. */
  cork(callback: () => void): void {
    this.sender.batched(callback);
  }

  private async readLoop(head: Uint8Array): Promise<void> {
    const reader = this.upgraded.reader;
    try {
      let chunk: Uint8Array | undefined = head.length ? head : undefined;
      while (!this.finished) {
        if (chunk) {
          this.receivedSinceTick = true;
          this.awaitingPong = false;
          this.sender.cork();
          let inflating: Promise<void> | undefined;
          try {
            inflating = this.receiver.push(chunk);
          } finally {
            this.sender.uncork();
          }
          if (inflating) await inflating;
        }
        if (this.sender.bufferedAmount > SEND_HIGH_WATER_MARK) await this.sender.whenDrained();
        if (this.readPause) await this.readPause;
        if (this.finished) break;
        const { value, done } = await reader.read();
        if (done) break;
        chunk = value;
      }
      if (!this.tcpClosing) this.finish(CloseCode.Abnormal, "", false);
    } catch (error) {
      if (error instanceof ProtocolError) this.failConnection(error);
      else if (!this.tcpClosing) this.finish(CloseCode.Abnormal, "", false);
    }
  }

  private failConnection(error: ProtocolError): void {
    if (this.finished) return;
    this.callHandler(() => this.events.error(error), false);
    if (!this.closeSent) this.sendClose(error.closeCode, error.message);
    this.readyState = ReadyState.CLOSING;
    void this.closeTcp(error.closeCode, error.message, false);
  }

  private peerClosed(code: number, reason: string): void {
    // The peer answering our close frame has read everything we sent: it was the last thing we sent.
    const allDelivered = this.closeSent;
    if (!this.closeSent) {
      this.readyState = ReadyState.CLOSING;
      this.sendClose(code === CloseCode.NoStatus ? undefined : code, code === CloseCode.NoStatus ? "" : reason);
    }
    // The server closes the TCP connection first (RFC 6455 section 7.1.1).
    void this.closeTcp(code, reason, true, allDelivered);
  }

  /**
   * Ends the TCP connection once our frames are handed to the socket. With `allDelivered` it is dropped at once:
   * a graceful close would wait for the peer's FIN where a socket cannot half-close (Chromium's Direct Sockets),
   * and a browser client waits 2 s for our FIN before giving up.
   */
  private async closeTcp(code: number, reason: string, wasClean: boolean, allDelivered = false): Promise<void> {
    if (this.tcpClosing) return;
    this.tcpClosing = true;
    // A peer that stops reading must not keep the connection forever.
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.terminate(), this.settings.closeTimeout);
    this.sender.uncork();
    await this.sender.flushed();
    if (allDelivered) await this.upgraded.writer.abort("closing handshake complete").catch(() => {});
    await this.upgraded.close().catch(() => {});
    this.finish(code, reason, wasClean);
  }

  private finish(code: number, reason: string, wasClean: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.readyState = ReadyState.CLOSED;
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.closeTimer);
    this.resume();
    this.sender.stop();
    this.upgraded.reader.cancel().catch(() => {});
    void this.upgraded.close().catch(() => {});
    this.callHandler(() => this.events.close(code, reason, wasClean), false);
    this.markClosed();
  }

  private keepaliveTick(): void {
    if (this.receivedSinceTick) {
      this.receivedSinceTick = false;
      return;
    }
    if (this.awaitingPong) {
      this.terminate();
      return;
    }
    this.awaitingPong = true;
    if (!this.closeSent) this.sender.send(encodeFrame(Opcode.Ping, new Uint8Array(0)), 0);
  }

  private sendClose(code: number | undefined, reason: string): void {
    this.closeSent = true;
    this.sender.send(encodeFrame(Opcode.Close, encodeClosePayload(code, reason)), 0);
  }

  private sendControl(opcode: number, data: string | BinaryData): number {
    if (this.readyState !== ReadyState.OPEN) return SendStatus.Dropped;
    const payload = typeof data === "string" ? new TextEncoder().encode(data) : toBytes(data);
    if (payload.length > 125) throw new RangeError("control frame payloads are limited to 125 bytes");
    this.sender.send(encodeFrame(opcode, payload), payload.length);
    return payload.length;
  }

  /** Whether a message may be queued: open, and the queue under the backpressure limit. */
  private admit(): boolean {
    if (this.readyState !== ReadyState.OPEN) return false;
    if (this.sender.bufferedAmount < this.settings.backpressureLimit) return true;
    if (this.settings.closeOnBackpressureLimit) this.close(CloseCode.PolicyViolation, "backpressure limit exceeded");
    return false;
  }

  /** Runs a user handler; a throw is reported and, unless told otherwise, closes the connection with 1011. */
  private callHandler(run: () => void, closeOnThrow = true): void {
    try {
      run();
    } catch (error) {
      try {
        this.events.error(error);
      } catch {
        // An error handler that throws has nothing left to tell.
      }
      if (closeOnThrow && this.readyState === ReadyState.OPEN) this.close(CloseCode.InternalError, "handler error");
    }
  }
}
