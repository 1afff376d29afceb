/**
 * A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`: Chromium reads commands from its
 * fd 3 and writes replies and events to its fd 4, one JSON message per NUL-terminated record.
 *
 * The pipe needs no WebSocket library and no port, and Chromium exits by itself when the pipe closes, so a
 * launcher that dies without cleaning up does not leave a browser behind.
 */
import type { Readable, Writable } from "node:stream";

interface PendingCall {
  method: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: string };
  sessionId?: string;
}

export type CdpEventListener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

/** Largest single CDP message accepted from Chromium; screenshots of big windows stay well below it. */
const maxMessageBytes = 256 * 1024 * 1024;

export class CdpError extends Error {
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`${method}: ${message}`);
    this.name = "CdpError";
  }
}

export class CdpConnection {
  #nextId = 1;
  #pending = new Map<number, PendingCall>();
  #listeners = new Map<string, Set<CdpEventListener>>();
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #closedReason: Error | undefined;

  constructor(
    private readonly toChromium: Writable,
    fromChromium: Readable,
  ) {
    fromChromium.on("data", (chunk: Buffer) => this.#receive(chunk));
    fromChromium.on("close", () => this.#fail(new Error("the DevTools pipe to Chromium closed")));
    fromChromium.on("error", (error) => this.#fail(error));
    toChromium.on("error", (error) => this.#fail(error));
  }

  /** Sends a command (to the browser, or to an attached target with `sessionId`) and resolves with its result. */
  send<T = Record<string, unknown>>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    if (this.#closedReason) return Promise.reject(new CdpError(method, this.#closedReason.message));
    const id = this.#nextId++;
    const message: CdpMessage = { id, method, params: params as Record<string, unknown> };
    if (sessionId) message.sessionId = sessionId;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { method, resolve: resolve as PendingCall["resolve"], reject });
      this.toChromium.write(JSON.stringify(message) + "\0");
    });
  }

  on(event: string, listener: CdpEventListener): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  close(): void {
    this.toChromium.end();
    this.#fail(new Error("the DevTools connection was closed"));
  }

  #receive(chunk: Buffer): void {
    let start = 0;
    let end = chunk.indexOf(0);
    while (end !== -1) {
      this.#buffered.push(chunk.subarray(start, end));
      const text = Buffer.concat(this.#buffered).toString("utf8");
      this.#buffered = [];
      this.#bufferedBytes = 0;
      this.#dispatch(JSON.parse(text) as CdpMessage);
      start = end + 1;
      end = chunk.indexOf(0, start);
    }
    if (start < chunk.length) {
      this.#buffered.push(chunk.subarray(start));
      this.#bufferedBytes += chunk.length - start;
      if (this.#bufferedBytes > maxMessageBytes) this.#fail(new Error("a DevTools message exceeded 256 MiB"));
    }
  }

  #dispatch(message: CdpMessage): void {
    if (message.id !== undefined) {
      const call = this.#pending.get(message.id);
      if (!call) return;
      this.#pending.delete(message.id);
      if (message.error) call.reject(new CdpError(call.method, message.error.message));
      else call.resolve(message.result ?? {});
      return;
    }
    if (message.method) {
      for (const listener of this.#listeners.get(message.method) ?? []) listener(message.params ?? {}, message.sessionId);
    }
  }

  #fail(reason: Error): void {
    if (this.#closedReason) return;
    this.#closedReason = reason;
    for (const call of this.#pending.values()) call.reject(new CdpError(call.method, reason.message));
    this.#pending.clear();
  }
}
