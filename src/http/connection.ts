import { indexOfHeadEnd } from "../shared/bytes.js";
import { httpDate } from "./date.js";
import { RequestBody } from "./body.js";
import type { DeadlineHolder, DeadlineSweep } from "./deadlines.js";
import { HttpError } from "./errors.js";
import { ConnectionInput } from "./input.js";
import type { Limits } from "./limits.js";
import { bodyFraming, parseRequestHead, type RequestHead } from "./parser.js";
import { serializeHead, writeResponse } from "./response.js";
import { abortRequest, createServerRequest, type DisconnectWatcher, markAnswered, type ServerRequest, signalRequested } from "./request.js";
import { expectsContinue, requestMethodAndUrl, wantsKeepAlive } from "./request-head.js";
import { type ConnectionInfo, connectionInfo, upgradeResponse, upgradeHeaders, upgradeOf } from "../shared/upgrade.js";
import type { TCPSocket } from "../sockets/types.js";
import { type ByteWriter, type DirectIo, socketIo } from "../sockets/direct-io.js";
import { isPromiseLike } from "../shared/maybe-promise.js";

/** What the connection loop needs from the server. */
export interface ConnectionHost {
  limits: Limits;
  /** Produces the response for a request (the user's handler, with error handling around it). */
  respond(request: Request, info: ConnectionInfo): Response | undefined | Promise<Response | undefined>;
  /** Counts a request the server answered itself with a 4xx/5xx. */
  refused(): void;
  /** Reports a connection-level failure that no response can carry. */
  report(error: unknown): void;
  /** True once the server shuts down: finish the request in hand, take no new ones. */
  readonly draining: boolean;
  /** Checks the connections' timeouts with one timer for all of them. */
  readonly deadlines: DeadlineSweep;
}

const ENCODER = new TextEncoder();
const CONTINUE = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");
/** Unread request body the loop will skip to keep a connection alive; beyond it, it closes instead. */
const MAX_SKIPPED_BODY = 256 * 1024;
/** Bytes read ahead (pipelined requests) while watching for the client leaving; beyond it, the client is evidently there. */
const MAX_WATCH_BUFFER = 64 * 1024;

/** One accepted connection, from its first byte to its close. */
export class HttpConnection implements DisconnectWatcher, DeadlineHolder {
  /** Between requests, waiting for the next head: safe to close at shutdown. */
  idle = true;
  /** The request being answered, whose signal aborts when the client leaves. */
  private inFlight: { request: ServerRequest; body: RequestBody; upgrade: boolean } | undefined;
  /** The latest request's body: read by the handler, then skipped by the loop, each read with a deadline. */
  private body: RequestBody | undefined;
  /** A read started only to notice the client leaving; the next reader waits for it. */
  private watching: Promise<unknown> | undefined;
  private input!: ConnectionInput;
  private writer!: ByteWriter;
  private info!: ConnectionInfo;
  /** When the wait for a request head expires (Infinity: not waiting). */
  private headDeadline = Infinity;
  private timedOut = false;
  /** How far the buffered bytes were searched for the end of the request head. */
  private headScanned = 0;
  private upgraded = false;

  constructor(
    private readonly socket: TCPSocket,
    private readonly host: ConnectionHost,
    /** Over the connection cap: answer 503 and close. */
    private readonly overCapacity = false,
    /** The socket's reader and writer, taken by whoever read its first bytes (`head`) to pick the protocol. */
    private readonly start?: { io: DirectIo; head: Uint8Array },
  ) {}

  /** Runs the request loop; resolves when the connection is closed. Never rejects. */
  async run(): Promise<void> {
    try {
      const opened = await this.socket.opened;
      const { reader, writer } = this.start?.io ?? socketIo(opened);
      this.input = new ConnectionInput(reader, this.start?.head);
      this.host.deadlines.watch(this);
      this.writer = writer;
      this.info = connectionInfo(opened);
      if (this.overCapacity) await this.refuse(new HttpError(503, "too many connections"));
      else await this.serveRequests();
    } catch (error) {
      this.host.report(error);
    } finally {
      if (!this.upgraded) await this.close();
    }
  }

  /** Closes an idle connection at once (shutdown); a busy one closes after its response. */
  closeIfIdle(): void {
    if (this.idle) this.input?.cancel("server shutting down");
  }

  /** Drops the connection at once, mid-request or not (a forced close of the server). */
  abort(): void {
    if (this.inFlight) abortRequest(this.inFlight.request, new Error("server closed"));
    this.input?.cancel("server closed");
    this.writer?.abort("server closed").catch(() => {});
  }

  private async serveRequests(): Promise<void> {
    let keepAlive = true;
    while (keepAlive && !this.host.draining) {
      let head: RequestHead | undefined;
      let body: RequestBody | undefined;
      try {
        // The loop reads the head itself: an async reader per request cost more than the rest of its bookkeeping.
        this.awaitHead();
        // A read started to watch the previous request's client may still be pending: its bytes come first.
        if (this.watching) await this.watching;
        while (!(head = this.bufferedHead())) {
          if (!this.input.add(await this.input.next())) break;
        }
        this.headDeadline = Infinity;
        head ??= this.headCutShort();
        if (!head) return;
        keepAlive = wantsKeepAlive(head);
        const request = this.buildRequest(head, (body = this.createBody(head)));
        this.inFlight = { request, body, upgrade: head.facts.upgrade !== undefined };
        try {
          const answer = this.host.respond(request, this.info);
          // An answer given at once is used at once: an await costs a microtask turn per request (maybe-promise.ts).
          const response = (isPromiseLike(answer) ? await answer : answer) ?? upgradeResponse(request);
          if (!response) throw new HttpError(500, "the handler returned no Response");
          const upgrade = upgradeOf(response);
          if (upgrade) {
            try {
              const headers = await upgradeHeaders(response).catch((error: unknown) => {
                throw new HttpError(
                  500,
                  `the upgrade response could not be completed: ${error instanceof Error ? error.message : String(error)}`,
                );
              });
              await this.writer.write(serializeHead(101, headers));
            } catch (error) {
              upgrade.abandon?.(error);
              throw error;
            }
            this.upgraded = true;
            this.host.deadlines.unwatch(this);
            upgrade.takeOver({
              head: this.input.detach(),
              reader: this.input.reader,
              writer: this.writer,
              info: this.info,
              close: () => this.close(),
            });
            return;
          }
          if (body.error) throw body.error;
          // A client waiting for 100 Continue that never got it may or may not send its body: don't guess.
          const unreadAfterExpect = !body.finished && !body.started && expectsContinue(head);
          // Decided before the response goes out, so that it can say `Connection: close`.
          const closeAfter = unreadAfterExpect || !body.skippable(MAX_SKIPPED_BODY);
          const target = { method: head.method, version: head.version, keepAlive: keepAlive && !closeAfter && !this.host.draining };
          // The handler may have read the body by now, so the client's leaving can be watched for during the write.
          this.watchForDisconnect();
          keepAlive = await writeResponse(this.writer, response, target);
        } catch (error) {
          abortRequest(request, error);
          throw error;
        } finally {
          markAnswered(request);
          this.inFlight = undefined;
        }
        if (keepAlive && !body.finished) keepAlive = await body.skipRest(MAX_SKIPPED_BODY).catch(() => false);
      } catch (error) {
        this.headDeadline = Infinity;
        if (!(error instanceof HttpError)) throw error;
        await this.refuse(error);
        return;
      }
    }
  }

  /**
   * Keeps a read pending while a request whose signal someone holds is answered, so that the client's FIN or reset
   * aborts that signal. Only once the request's body is read: the body's own reads must not overlap this one. Never
   * for an upgrade, whose unread bytes go to the new protocol. What the read brings (a pipelined request) stays
   * buffered for the next head.
   */
  watchForDisconnect(): void {
    const inFlight = this.inFlight;
    if (!inFlight || inFlight.upgrade || this.watching || !inFlight.body.finished || !signalRequested(inFlight.request)) return;
    if (this.input.buffered.length >= MAX_WATCH_BUFFER) return;
    const { request } = inFlight;
    this.watching = this.input.fill().then(
      (more) => {
        this.watching = undefined;
        if (more) this.watchForDisconnect();
        else abortRequest(request, new Error("the client disconnected"));
      },
      (error: unknown) => {
        this.watching = undefined;
        abortRequest(request, error);
      },
    );
  }

  /** Starts the wait for the next request head: idle again, under the idle timeout. */
  private awaitHead(): void {
    this.idle = true;
    this.timedOut = false;
    this.headScanned = 0;
    this.headDeadline = Date.now() + this.host.limits.idleTimeout;
  }

  /**
   * Called by the deadline sweep. A wait for a request head that timed out ends the pending read, and the head
   * reader answers 408 or closes; a body read that timed out does the same through the body.
   */
  checkDeadline(now: number): void {
    this.body?.checkDeadline(now);
    if (now < this.headDeadline) return;
    this.headDeadline = Infinity;
    this.timedOut = true;
    this.input.cancel("timeout");
  }

  /** The next request head if the buffered bytes hold all of it; throws the refusal of a head too large. */
  private bufferedHead(): RequestHead | undefined {
    const { limits } = this.host;
    let buffered = this.input.buffered;
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    let leading = 0;
    while (leading + 1 < buffered.length && buffered[leading] === 13 && buffered[leading + 1] === 10) leading += 2;
    if (leading) {
      this.input.skip(leading);
      buffered = this.input.buffered;
      this.headScanned = 0;
    }
    if (buffered.length > 0 && this.idle) {
      this.idle = false;
      this.headDeadline = Date.now() + limits.headersTimeout;
    }
    const end = indexOfHeadEnd(buffered, this.headScanned);
    if (end !== -1) {
      if (end + 4 > limits.maxHeaderSize) throw new HttpError(431, "request header section too large");
      const head = parseRequestHead(buffered, end + 2, limits);
      this.input.skip(end + 4);
      return head;
    }
    if (buffered.length > limits.maxHeaderSize) {
      const lineEnd = buffered.indexOf(10);
      if (lineEnd === -1 || lineEnd > limits.maxRequestTargetLength) {
        throw new HttpError(lineEnd === -1 ? 414 : 431, lineEnd === -1 ? "request target too long" : "request header section too large");
      }
      throw new HttpError(431, "request header section too large");
    }
    this.headScanned = Math.max(0, buffered.length - 3);
    return undefined;
  }

  /** The input ended (the peer closed, or the wait timed out) before a whole head: a refusal once one began. */
  private headCutShort(): undefined {
    const started = !this.idle;
    if (this.timedOut && started) throw new HttpError(408, "request head not received in time");
    if (started && !this.timedOut && this.input.buffered.length > 0 && !this.host.draining) {
      throw new HttpError(400, "connection closed in the middle of a request head");
    }
    return undefined;
  }

  private createBody(head: RequestHead): RequestBody {
    const framing = bodyFraming(head, this.host.limits);
    this.body = new RequestBody(this.input, framing, this.host.limits, async () => {
      if (expectsContinue(head) && head.version === "1.1") await this.writer.write(CONTINUE);
    });
    return this.body;
  }

  private buildRequest(head: RequestHead, body: RequestBody): ServerRequest {
    const { method, url } = requestMethodAndUrl(head, this.info);
    // Web Requests cannot carry a body on GET or HEAD; such a body is read and dropped after the response.
    const carriesBody = !body.finished && method !== "GET" && method !== "HEAD";
    return createServerRequest({
      method,
      url,
      target: head.target,
      fields: head.headers,
      body: carriesBody ? body : null,
      info: this.info,
      watcher: this,
    });
  }

  /** Answers a refused request and lets the connection close. */
  private async refuse(error: HttpError): Promise<void> {
    this.host.refused();
    const body = ENCODER.encode(`${error.message}\n`);
    const head = serializeHead(error.status, [
      ["content-type", "text/plain; charset=utf-8"],
      ["content-length", String(body.length)],
      ["date", httpDate()],
      ["connection", "close"],
    ]);
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head, 0);
    bytes.set(body, head.length);
    await this.writer.write(bytes).catch(() => {});
  }

  private closing: Promise<void> | undefined;

  /** Flushes what was written, then closes both directions. */
  private close(): Promise<void> {
    this.closing ??= (async () => {
      this.host.deadlines.unwatch(this);
      await this.writer?.close().catch(() => {});
      this.input?.cancel("connection closed");
      await this.socket.close().catch(() => {});
    })();
    return this.closing;
  }
}
