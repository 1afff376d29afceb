import { decodeLatin1 } from "../shared/bytes.js";
import { TOKEN_SOURCE } from "../shared/token.js";
import { HttpError } from "./errors.js";
import type { ConnectionInput } from "./input.js";
import type { Limits } from "./limits.js";
import type { BodyFraming } from "./parser.js";

/** Longest chunk-size line accepted (size, extensions, CRLF). */
const MAX_CHUNK_LINE = 4096;
/** Largest piece handed to the body stream at once. */
const MAX_PIECE = 256 * 1024;

/** RFC 9112 §7.1.1: chunk-size [ chunk-ext ], where chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ). */
const QUOTED_STRING = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const CHUNK_EXTENSION = `[ \\t]*;[ \\t]*${TOKEN_SOURCE}(?:[ \\t]*=[ \\t]*(?:${TOKEN_SOURCE}|${QUOTED_STRING}))?`;
/** A trailer field line begins with its name and a colon. */
const TRAILER_FIELD_START = new RegExp(`^${TOKEN_SOURCE}:`);
const CHUNK_SIZE_LINE = new RegExp(`^([0-9a-fA-F]{1,16})(?:${CHUNK_EXTENSION})*$`);

/**
 * The body of one request, read from the connection on demand: nothing is read before the handler
 * (or the connection loop, to skip what the handler left) asks for it.
 */
export class RequestBody {
  /** Set when the body was malformed or ended early; the connection cannot continue after it. */
  error: HttpError | undefined;
  /** Whether anyone asked for body bytes yet (for `Expect: 100-continue`). */
  started = false;
  private done: boolean;
  private remainingInChunk = 0;
  private received = 0;
  private trailersRead = false;
  /** When the socket read in progress gives up on the client (Infinity while none is); the connection's sweep checks it. */
  private readDeadline = Infinity;
  private stalled = false;

  constructor(
    private readonly input: ConnectionInput,
    private readonly framing: BodyFraming,
    private readonly limits: Limits,
    private readonly beforeFirstRead: () => Promise<void>,
  ) {
    this.done = framing.kind === "none";
    if (framing.kind === "length") this.remainingInChunk = framing.length;
  }

  get finished(): boolean {
    return this.done;
  }

  /** The next piece of the body, or null at its end. Throws HttpError on malformed framing or a stalled client. */
  async next(): Promise<Uint8Array | null> {
    if (this.done) return null;
    if (this.error) throw this.error;
    // Bytes of a Content-Length body already here need no socket read and so no stall timer, nor an interim 100
    // Continue: the client sent them without waiting for one (RFC 9110 §10.1.1 lets the server omit it then).
    if (this.framing.kind === "length" && this.input.buffered.length > 0) {
      this.started = true;
      return this.takeFixed(this.input.takeBuffered(Math.min(this.remainingInChunk, MAX_PIECE)));
    }
    this.readDeadline = Date.now() + this.limits.bodyTimeout;
    try {
      if (!this.started) {
        this.started = true;
        await this.beforeFirstRead();
      }
      const piece = this.framing.kind === "chunked" ? await this.nextChunked() : await this.nextFixed();
      if (this.stalled) throw new Error("stalled");
      return piece;
    } catch (error) {
      if (this.stalled) this.error = new HttpError(408, `no request body bytes for ${this.limits.bodyTimeout} ms`);
      else this.error = error instanceof HttpError ? error : new HttpError(400, String(error));
      throw this.error;
    } finally {
      this.readDeadline = Infinity;
    }
  }

  /** Called by the connection's deadline sweep: a read waiting longer than bodyTimeout ends the pending socket read. */
  checkDeadline(now: number): void {
    if (now < this.readDeadline) return;
    this.readDeadline = Infinity;
    // The connection cannot go on after a body cut short.
    this.stalled = true;
    this.input.cancel("request body timeout");
  }

  /** The whole body if every byte of it is already buffered (no socket read, no timer needed), else undefined. */
  takeWhole(): Uint8Array | undefined {
    if (this.done || this.error || this.framing.kind !== "length" || this.input.buffered.length < this.remainingInChunk) {
      return undefined;
    }
    this.started = true;
    return this.takeFixed(this.input.takeBuffered(this.remainingInChunk));
  }

  /** A stream over `next()` that reads only as fast as its consumer pulls. */
  toStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const piece = await this.next();
          if (piece) controller.enqueue(piece);
          else controller.close();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Whether what is left of the body is known to be at most `maxBytes` (a chunked body's rest is not known). */
  skippable(maxBytes: number): boolean {
    return this.done || (this.framing.kind === "length" && this.remainingInChunk <= maxBytes);
  }

  /** Reads and discards the rest of the body, up to `maxBytes`; true when the body ended within that. */
  async skipRest(maxBytes: number): Promise<boolean> {
    let skipped = 0;
    while (!this.done && skipped <= maxBytes) {
      const piece = await this.next();
      if (piece) skipped += piece.length;
    }
    return this.done;
  }

  private async nextFixed(): Promise<Uint8Array | null> {
    const piece = await this.input.take(Math.min(this.remainingInChunk, MAX_PIECE));
    if (piece.length === 0) throw new HttpError(400, "connection closed before the request body ended");
    return this.takeFixed(piece);
  }

  /** Counts a piece of a Content-Length body as read. */
  private takeFixed(piece: Uint8Array): Uint8Array {
    this.remainingInChunk -= piece.length;
    if (this.remainingInChunk === 0) this.done = true;
    return piece;
  }

  private async nextChunked(): Promise<Uint8Array | null> {
    while (this.remainingInChunk === 0) {
      const size = await this.readChunkSize();
      if (size === 0) {
        await this.readTrailers();
        this.done = true;
        return null;
      }
      this.received += size;
      if (this.received > this.limits.maxBodySize) {
        throw new HttpError(413, `request body exceeds the limit of ${this.limits.maxBodySize} bytes`);
      }
      this.remainingInChunk = size;
    }
    const piece = await this.input.take(Math.min(this.remainingInChunk, MAX_PIECE));
    if (piece.length === 0) throw new HttpError(400, "connection closed inside a chunk");
    this.remainingInChunk -= piece.length;
    if (this.remainingInChunk === 0) await this.expectCrlf();
    return piece;
  }

  /**
   * Reads one CRLF-terminated line (without the CRLF), bounded by `maxLength`. A bare LF, a CR not followed by LF or
   * another control character fails as soon as it arrives: waiting for a CRLF that never comes would hold the
   * connection until the body timeout.
   */
  private async readLine(maxLength: number, what: string): Promise<string> {
    let scanned = 0;
    for (;;) {
      const buffered = this.input.buffered;
      for (; scanned < buffered.length && scanned <= maxLength; scanned++) {
        const byte = buffered[scanned]!;
        if (byte >= 0x20 || byte === 0x09) continue;
        if (byte === 10) throw new HttpError(400, `bare LF in ${what}`);
        if (byte !== 13) throw new HttpError(400, `control character in ${what}`);
        if (scanned + 1 === buffered.length) break;
        if (buffered[scanned + 1] !== 10) throw new HttpError(400, `CR without LF in ${what}`);
        const line = decodeLatin1(buffered, 0, scanned);
        this.input.skip(scanned + 2);
        return line;
      }
      if (scanned > maxLength) break;
      if (!(await this.input.fill())) throw new HttpError(400, `connection closed inside the ${what}`);
    }
    throw new HttpError(what === "trailer section" ? 431 : 400, `${what} too long`);
  }

  private async readChunkSize(): Promise<number> {
    const line = await this.readLine(MAX_CHUNK_LINE, "chunk size line");
    const match = CHUNK_SIZE_LINE.exec(line);
    if (!match) throw new HttpError(400, "malformed chunk size");
    return parseInt(match[1]!, 16);
  }

  /** Consumes the CRLF after chunk data; a wrong byte fails as soon as it arrives, not once two bytes are there. */
  private async expectCrlf(): Promise<void> {
    const CRLF = [13, 10];
    for (let index = 0; index < CRLF.length; index++) {
      while (this.input.buffered.length <= index) {
        if (!(await this.input.fill())) throw new HttpError(400, "connection closed after chunk data");
      }
      if (this.input.buffered[index] !== CRLF[index]) throw new HttpError(400, "chunk data not followed by CRLF");
    }
    this.input.skip(CRLF.length);
  }

  private async readTrailers(): Promise<void> {
    if (this.trailersRead) return;
    let budget = this.limits.maxHeaderSize;
    for (;;) {
      const line = await this.readLine(budget, "trailer section");
      budget -= line.length + 2;
      if (line === "") break;
      if (!TRAILER_FIELD_START.test(line)) throw new HttpError(400, "malformed trailer field");
    }
    this.trailersRead = true;
  }
}
