/**
 * One HTTP/2 connection, server side (RFC 9113): the preface and SETTINGS, streams from HEADERS (+ CONTINUATION)
 * to a `Request` for the same `ConnectionHost` as HTTP/1.1, request bodies with stream flow control paced by the
 * handler's reading, responses as HEADERS + DATA within the client's connection and stream windows, PING, RST_STREAM
 * (aborting `request.signal`), GOAWAY on errors and a graceful drain at shutdown.
 *
 * Protection (each limit in `Http2Options`): concurrent streams, counting handlers still running after their stream
 * was reset (Rapid Reset); resets, PINGs, SETTINGS and empty DATA frames per time window (floods: ENHANCE_YOUR_CALM);
 * the size and frame count of one header block (CONTINUATION flood); the decoded header list (HPACK bomb: 431);
 * replies the client does not read (reading stops while they are queued); and writes stalled at a zero window (the
 * stream is reset, or, when the connection window is the one at zero, the connection is closed).
 */
import { ErrorCode, Http2Error, errorCodeName } from "./errors.js";
import {
  checkFrameSize,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  dataFrame,
  FRAME_HEADER_SIZE,
  FrameType,
  type FrameHeader,
  goawayFrame,
  headerFrames,
  MAX_WINDOW,
  PREFACE,
  parseContinuation,
  parseData,
  parseFrameHeader,
  parseGoaway,
  parseHeaders,
  parsePing,
  parsePriority,
  parseRstStream,
  parseSettings,
  parseWindowUpdate,
  pingAck,
  type Priority,
  rstStreamFrame,
  SETTINGS_ACK,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.js";
import { type HeaderField, HpackDecoder, HpackEncoder } from "./hpack.js";
import { Output } from "./output.js";
import { Http2Body } from "./body.js";
import { requestFields, requestUrl } from "./request-fields.js";
import type { ConnectionHost } from "../http/connection.js";
import type { DeadlineHolder } from "../http/deadlines.js";
import { httpDate } from "../http/date.js";
import { HttpError } from "../http/errors.js";
import { FastResponse, responseParts } from "../http/fast-response.js";
import { toBytes } from "../http/response.js";
import { abortRequest, createServerRequest, markAnswered, type ServerRequest } from "../http/request.js";
import { concatAll, concatBytes, EMPTY } from "../shared/bytes.js";
import { type ConnectionInfo, connectionInfo } from "../shared/upgrade.js";
import { type DirectIo, socketIo } from "../sockets/direct-io.js";
import type { TCPSocket, TCPSocketOpenInfo } from "../sockets/types.js";

/** The HTTP/2 limits, each with a default. */
export interface Http2Options {
  /** Streams at once, counting handlers still running for streams the client reset (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** The receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE): how far a client's upload may run ahead of the handler. */
  initialWindowSize: number;
  /** The receive window of the whole connection. */
  connectionWindowSize: number;
  /** SETTINGS_MAX_FRAME_SIZE announced to the client. */
  maxFrameSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE: the dynamic table the client's encoder may use. */
  headerTableSize: number;
  /** Decoded header list size (RFC 9113 §6.5.2) answered 431 beyond; default twice `maxHeaderSize` of the limits. */
  maxHeaderListSize: number;
  /** Bytes of one compressed header block (HEADERS + CONTINUATION); beyond it: ENHANCE_YOUR_CALM. */
  maxHeaderBlockSize: number;
  /** CONTINUATION frames in one header block; beyond it: ENHANCE_YOUR_CALM. */
  maxContinuationFrames: number;
  /** The time window (ms) in which the flood counts below apply. */
  floodWindow: number;
  /** Streams reset by the client, or refused, per window (Rapid Reset, CVE-2023-44487). */
  maxResetsPerWindow: number;
  maxPingsPerWindow: number;
  maxSettingsPerWindow: number;
  /** DATA frames without data and without END_STREAM, per window. */
  maxEmptyFramesPerWindow: number;
  /** Bytes queued for a client that does not read, beyond which the server stops reading its frames. */
  maxOutputBacklog: number;
}

export function resolveHttp2Options(host: ConnectionHost, overrides: Partial<Http2Options> = {}): Http2Options {
  const maxHeaderListSize = overrides.maxHeaderListSize ?? host.limits.maxHeaderSize * 2;
  return {
    maxConcurrentStreams: 100,
    initialWindowSize: DEFAULT_WINDOW,
    connectionWindowSize: 1024 * 1024,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    headerTableSize: 4096,
    maxHeaderListSize,
    maxHeaderBlockSize: maxHeaderListSize,
    maxContinuationFrames: 64,
    floodWindow: 10_000,
    maxResetsPerWindow: 200,
    maxPingsPerWindow: 200,
    maxSettingsPerWindow: 200,
    maxEmptyFramesPerWindow: 200,
    maxOutputBacklog: 1024 * 1024,
    ...overrides,
  };
}

/** What a connection that sniffed the preface (or took an ALPN "h2" socket) hands over. */
export interface Http2Start {
  opened: TCPSocketOpenInfo;
  io: DirectIo;
  /** Bytes already read: the preface, possibly more. */
  head: Uint8Array;
}

/** Headers the connection manages or HTTP/2 forbids (RFC 9113 §8.2.2): a handler's values are dropped. */
const DROPPED_RESPONSE_FIELDS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "date"]);
const ENCODER = new TextEncoder();
const ASCII = /^[\x00-\x7f]*$/;
/** After a connection error, how long and how much of the client's input is read and dropped before the close. */
const FAIL_LINGER_MS = 1000;
const FAIL_LINGER_BYTES = 1024 * 1024;
/** Closed stream ids remembered (to tell a closed stream from one never opened). */
const MAX_REMEMBERED_CLOSED = 1024;

type StreamState = "open" | "halfClosedRemote" | "closed";

interface Stream {
  id: number;
  state: StreamState;
  /** The response is complete (END_STREAM sent) or will never be. */
  localDone: boolean;
  /** The handler is still running: the stream counts toward the concurrency limit until it returns. */
  busy: boolean;
  sendWindow: number;
  recvWindow: number;
  /** Bytes the handler consumed not yet given back as WINDOW_UPDATE. */
  unacked: number;
  body: Http2Body | undefined;
  request: ServerRequest | undefined;
  method: string;
  contentLength: number | undefined;
  received: number;
  /** Resumes a writer waiting for window; `timedOut` gives up on the client instead. */
  wake: ((timedOut?: boolean) => void) | undefined;
  /** When that writer gives up (Infinity while none waits). */
  windowDeadline: number;
}

/** One accepted HTTP/2 connection, from the preface to its close. */
export class Http2Connection implements DeadlineHolder {
  private readonly options: Http2Options;
  private output!: Output;
  private io!: DirectIo;
  private info!: ConnectionInfo;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  private readonly streams = new Map<number, Stream>();
  /** Streams that ended, by id: "reset" when we reset them (their late frames are ignored), else "closed". */
  private readonly closedStreams = new Map<number, "reset" | "closed">();
  private lastStreamId = 0;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** A header block being received: CONTINUATION frames must follow on its stream. */
  private block:
    | { streamId: number; fragments: Uint8Array[]; size: number; frames: number; endStream: boolean; priority?: Priority }
    | undefined;
  /** GOAWAY sent: streams above `goawayLastId` are ignored, and the connection closes when the rest are done. */
  private goingAway = false;
  private goawayLastId = 0;
  private peerGoingAway = false;
  private closed = false;
  /** A connection error was sent: what the client still sends is read and dropped for a moment, then it closes. */
  private failing = false;
  private failTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly flood = { since: 0, resets: 0, pings: 0, settings: 0, empty: 0 };
  /** When an idle connection (no streams) is closed; Infinity while streams are open. Checked by the host's sweep. */
  private idleDeadline = Infinity;
  /** When a client that does not read its replies is given up on; Infinity while the output keeps up. */
  private outputDeadline = Infinity;
  private ended!: () => void;
  private readonly done = new Promise<void>((resolve) => (this.ended = resolve));

  constructor(
    private readonly socket: TCPSocket,
    private readonly host: ConnectionHost,
    private readonly start?: Http2Start,
    options?: Partial<Http2Options>,
  ) {
    this.options = resolveHttp2Options(host, options);
    this.decoder = new HpackDecoder({
      maxTableSize: this.options.headerTableSize,
      maxHeaderListSize: this.options.maxHeaderListSize,
    });
  }

  /** Serves the connection; resolves when it is closed. Never rejects. */
  async run(): Promise<void> {
    try {
      const opened = this.start?.opened ?? (await this.socket.opened);
      this.io = this.start?.io ?? socketIo(opened);
      this.output = new Output(this.io.writer);
      this.info = connectionInfo(opened);
      const { options } = this;
      // The server preface (§3.4), sent at once; the connection window grows past the default 65 535.
      const settings: Array<[number, number]> = [
        [Setting.MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, options.initialWindowSize],
        [Setting.MAX_HEADER_LIST_SIZE, options.maxHeaderListSize],
        [Setting.ENABLE_PUSH, 0],
      ];
      if (options.maxFrameSize !== DEFAULT_MAX_FRAME_SIZE) settings.push([Setting.MAX_FRAME_SIZE, options.maxFrameSize]);
      if (options.headerTableSize !== 4096) settings.push([Setting.HEADER_TABLE_SIZE, options.headerTableSize]);
      let preface = settingsFrame(settings);
      if (options.connectionWindowSize > DEFAULT_WINDOW) {
        preface = concatBytes(preface, windowUpdateFrame(0, options.connectionWindowSize - DEFAULT_WINDOW));
        this.recvWindow = options.connectionWindowSize;
      }
      this.output.post(preface);
      this.host.deadlines.watch(this);
      this.armIdleTimer();
      await this.readLoop();
      if (this.failing) await this.dropInput();
    } catch (error) {
      this.host.report(error);
    } finally {
      await this.close();
    }
  }

  /** Shutdown: GOAWAY, finish the streams in hand, then close (at once when there are none). */
  closeIfIdle(): void {
    if (!this.output) {
      this.io?.reader.cancel("server shutting down").catch(() => {});
      return;
    }
    this.goAway(ErrorCode.NO_ERROR, "server shutting down");
    if (this.streams.size === 0) this.stopReading();
  }

  /** Drops the connection at once (a forced close of the server). */
  abort(): void {
    for (const stream of this.streams.values()) this.abortStream(stream, new Error("server closed"));
    this.closed = true;
    this.io?.reader.cancel("server closed").catch(() => {});
    this.io?.writer.abort("server closed").catch(() => {});
  }

  // Reading frames.

  private async readLoop(): Promise<void> {
    let pending = this.start?.head ?? EMPTY;
    const { reader } = this.io;
    const read = async (): Promise<boolean> => {
      if (this.over) return false;
      while (this.output.backlog > this.options.maxOutputBacklog && this.output.failed === undefined && !this.over) {
        this.outputDeadline = Date.now() + this.host.limits.bodyTimeout;
        await this.output.progress();
        this.outputDeadline = Infinity;
      }
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done || this.over) return false;
      pending = pending.length ? concatBytes(pending, value) : value;
      return true;
    };
    // The client preface (§3.4).
    while (pending.length < PREFACE.length) {
      if (!(await read())) return;
    }
    for (let i = 0; i < PREFACE.length; i++) {
      if (pending[i] !== PREFACE[i]) {
        this.fail(ErrorCode.PROTOCOL_ERROR, "invalid connection preface");
        return;
      }
    }
    pending = pending.subarray(PREFACE.length);
    let first = true;
    for (;;) {
      while (pending.length >= FRAME_HEADER_SIZE) {
        const header = parseFrameHeader(pending);
        if (header.length > this.options.maxFrameSize) {
          this.fail(ErrorCode.FRAME_SIZE_ERROR, `frame of ${header.length} bytes exceeds ${this.options.maxFrameSize}`);
          return;
        }
        const end = FRAME_HEADER_SIZE + header.length;
        if (pending.length < end) break;
        const payload = pending.subarray(FRAME_HEADER_SIZE, end);
        pending = pending.subarray(end);
        // §3.4: the preface's SETTINGS frame comes first.
        if (first && header.type !== FrameType.SETTINGS) {
          this.fail(ErrorCode.PROTOCOL_ERROR, "the preface is not followed by SETTINGS");
          return;
        }
        first = false;
        try {
          this.frame(header, payload);
        } catch (error) {
          if (!(error instanceof Http2Error)) throw error;
          // A stream above the last one opened is idle, and RST_STREAM must not name an idle stream (§6.4): an
          // error there (a PRIORITY or WINDOW_UPDATE the client got wrong) is a connection error (§5.4.1 allows it).
          if (error.streamId !== undefined && error.streamId <= this.lastStreamId) this.resetStream(error.streamId, error.code);
          else {
            this.fail(error.code, error.message);
            return;
          }
        }
        if (this.over) return;
      }
      if (!(await read())) return;
    }
  }

  private frame(header: FrameHeader, payload: Uint8Array): void {
    if (this.block && (header.type !== FrameType.CONTINUATION || header.streamId !== this.block.streamId)) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "a header block was interrupted by another frame");
    }
    checkFrameSize(header, this.options.maxFrameSize);
    switch (header.type) {
      case FrameType.DATA:
        this.onData(header, payload);
        return;
      case FrameType.HEADERS:
        this.onHeaders(header, payload);
        return;
      case FrameType.PRIORITY:
        // Accepted and ignored (RFC 9113 deprecates the priority scheme), after its checks.
        parsePriority(header, payload);
        return;
      case FrameType.RST_STREAM:
        this.onRstStream(header, payload);
        return;
      case FrameType.SETTINGS:
        this.onSettings(header, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "a client cannot push");
      case FrameType.PING:
        this.onPing(header, payload);
        return;
      case FrameType.GOAWAY:
        parseGoaway(header, payload);
        this.peerGoingAway = true;
        if (this.streams.size === 0) this.stopReading();
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(header, payload);
        return;
      case FrameType.CONTINUATION:
        this.onContinuation(header, payload);
        return;
      default:
      // Unknown frame types are ignored (§4.1, §5.5).
    }
  }

  private count(kind: "resets" | "pings" | "settings" | "empty", limit: number): void {
    const now = Date.now();
    const flood = this.flood;
    if (now - flood.since > this.options.floodWindow) {
      flood.since = now;
      flood.resets = flood.pings = flood.settings = flood.empty = 0;
    }
    if (++flood[kind] > limit)
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, `too many ${kind === "empty" ? "empty DATA frames" : kind}`);
  }

  /** A stream id above any the client opened is idle: most frames there are a connection error (§5.1). */
  private checkNotIdle(streamId: number, what: string): void {
    if (streamId > this.lastStreamId) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${streamId}`);
  }

  private onData(header: FrameHeader, payload: Uint8Array): void {
    const frame = parseData(header, payload);
    const id = header.streamId;
    // Connection flow control counts every DATA frame, whatever becomes of it (§6.9).
    if (frame.flowLength > this.recvWindow) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    this.recvWindow -= frame.flowLength;
    if (this.recvWindow < this.options.connectionWindowSize / 2) {
      this.output.post(windowUpdateFrame(0, this.options.connectionWindowSize - this.recvWindow));
      this.recvWindow = this.options.connectionWindowSize;
    }
    const stream = this.streams.get(id);
    if (!stream || stream.state === "closed") {
      this.checkNotIdle(id, "DATA");
      // Frames the client sent before it saw our RST_STREAM are ignored (§5.1, closed).
      if (this.closedStreams.get(id) === "reset") return;
      throw new Http2Error(ErrorCode.STREAM_CLOSED, "DATA on a closed stream", id);
    }
    if (stream.state === "halfClosedRemote") throw new Http2Error(ErrorCode.STREAM_CLOSED, "DATA after END_STREAM", id);
    if (frame.flowLength > stream.recvWindow) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the stream window", id);
    stream.recvWindow -= frame.flowLength;
    if (frame.data.length === 0 && !frame.endStream) this.count("empty", this.options.maxEmptyFramesPerWindow);
    // Padding is credited back at once.
    if (frame.flowLength > frame.data.length) this.credit(stream, frame.flowLength - frame.data.length);
    stream.received += frame.data.length;
    if (stream.contentLength !== undefined && stream.received > stream.contentLength) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "more DATA than the content-length", id);
    }
    const { body } = stream;
    if (body) {
      if (stream.received > this.host.limits.maxBodySize && !body.abandoned) {
        // The handler's read fails with 413 (its response, if it answers at all, says so).
        body.fail(new HttpError(413, "request body too large"));
        this.credit(stream, body.discard());
      }
      body.push(frame.data);
    } else this.credit(stream, frame.data.length);
    if (frame.endStream) {
      if (stream.contentLength !== undefined && stream.received !== stream.contentLength) {
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "less DATA than the content-length", id);
      }
      this.remoteEnded(stream);
    }
  }

  /** The client sent END_STREAM. */
  private remoteEnded(stream: Stream): void {
    stream.state = "halfClosedRemote";
    stream.body?.end();
    if (stream.localDone) this.closeStream(stream, "closed");
  }

  /** The handler consumed (or the server dropped) `bytes` of the stream's body: credit its window. */
  private credit(stream: Stream, bytes: number): void {
    if (bytes <= 0) return;
    stream.unacked += bytes;
    if (stream.state !== "open" || stream.unacked < this.options.initialWindowSize / 2) return;
    this.output.post(windowUpdateFrame(stream.id, stream.unacked));
    stream.recvWindow += stream.unacked;
    stream.unacked = 0;
  }

  private onHeaders(header: FrameHeader, payload: Uint8Array): void {
    const frame = parseHeaders(header, payload);
    const id = header.streamId;
    if (id % 2 === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `HEADERS on even stream ${id}`);
    this.block = {
      streamId: id,
      fragments: [frame.fragment],
      size: frame.fragment.length,
      frames: 1,
      endStream: frame.endStream,
      priority: frame.priority,
    };
    this.checkBlockSize();
    if (frame.endHeaders) this.blockComplete();
  }

  private onContinuation(header: FrameHeader, payload: Uint8Array): void {
    const frame = parseContinuation(header, payload);
    const block = this.block;
    if (!block) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
    block.fragments.push(frame.fragment);
    block.size += frame.fragment.length;
    if (++block.frames > this.options.maxContinuationFrames + 1) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "too many CONTINUATION frames in one header block");
    }
    this.checkBlockSize();
    if (frame.endHeaders) this.blockComplete();
  }

  private checkBlockSize(): void {
    if (this.block!.size > this.options.maxHeaderBlockSize) {
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    }
  }

  private blockComplete(): void {
    const { streamId: id, fragments, endStream, priority } = this.block!;
    this.block = undefined;
    // Every block is decoded, whatever its stream's fate: the HPACK state is the connection's (§4.3).
    const decoded = this.decoder.decode(concatAll(fragments));
    const stream = this.streams.get(id);
    if (stream && stream.state !== "closed") {
      if (stream.state === "halfClosedRemote") throw new Http2Error(ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM", id);
      // Trailers (§8.1): they end the stream, and carry no pseudo-header fields. They are accepted and dropped.
      if (!endStream) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM", id);
      if (decoded.fields.some(([name]) => name.startsWith(":")))
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "pseudo-header in trailers", id);
      if (stream.contentLength !== undefined && stream.received !== stream.contentLength) {
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "less DATA than the content-length", id);
      }
      this.remoteEnded(stream);
      return;
    }
    if (id <= this.lastStreamId) {
      const closed = this.closedStreams.get(id);
      if (closed === "reset") return;
      if (closed === "closed") throw new Http2Error(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, below the last opened ${this.lastStreamId}`);
    }
    this.lastStreamId = id;
    if (this.goingAway) return;
    if (this.host.draining) {
      this.goAway(ErrorCode.NO_ERROR, "server shutting down");
      this.refuse(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    if (priority && priority.dependency === id) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "stream depends on itself", id);
    if (this.streams.size >= this.options.maxConcurrentStreams) {
      this.refuse(id, ErrorCode.REFUSED_STREAM);
      this.count("resets", this.options.maxResetsPerWindow);
      return;
    }
    if (decoded.tooLarge) {
      this.host.refused();
      void this.answer(this.openStream(id, endStream, "GET"), this.directResponse(431, "request header fields too large"));
      return;
    }
    const fields = requestFields(id, decoded.fields);
    if (fields.method === "CONNECT" || fields.method === "TRACE" || fields.method === "TRACK") {
      this.host.refused();
      void this.answer(this.openStream(id, endStream, fields.method), this.directResponse(501, `method ${fields.method} is not supported`));
      return;
    }
    if (endStream && fields.contentLength !== undefined && fields.contentLength !== 0) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "END_STREAM with a non-zero content-length", id);
    }
    const local = this.info.localAddress.includes(":") ? `[${this.info.localAddress}]` : this.info.localAddress;
    let authority = fields.authority;
    if (authority === undefined) authority = fields.fields.find(([name]) => name === "host")?.[1];
    const scheme = fields.scheme === "https" || (fields.scheme !== "http" && this.info.secure) ? "https" : "http";
    const url = requestUrl(scheme, authority ?? `${local}:${this.info.localPort}`, fields.path);
    if (url === undefined) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "malformed request: invalid :authority or :path", id);
    const stream_ = this.openStream(id, endStream, fields.method);
    stream_.contentLength = fields.contentLength;
    if (fields.contentLength !== undefined && fields.contentLength > this.host.limits.maxBodySize) {
      this.host.refused();
      void this.answer(stream_, this.directResponse(413, "request body too large"));
      return;
    }
    const carriesBody = !endStream && fields.method !== "GET" && fields.method !== "HEAD";
    if (carriesBody) {
      stream_.body = new Http2Body({
        consumed: (bytes) => this.credit(stream_, bytes),
        firstRead: () => {
          // RFC 9110 §10.1.1: a client that sent `expect: 100-continue` may wait for this before its DATA.
          if (
            stream_.received === 0 &&
            !stream_.localDone &&
            fields.fields.some(([name, value]) => name === "expect" && value.toLowerCase() === "100-continue")
          ) {
            this.sendHeaders(stream_, [[":status", "100"]], false).catch(() => {});
          }
        },
        bodyTimeout: this.host.limits.bodyTimeout,
        stalled: () => this.resetStream(id, ErrorCode.CANCEL),
      });
    }
    const request = createServerRequest({
      method: fields.method,
      url,
      target: fields.path,
      fields: fields.fields,
      body: stream_.body ?? null,
      info: this.info,
      watcher: NO_WATCH,
    });
    stream_.request = request;
    void this.handle(stream_, request);
  }

  private openStream(id: number, endStream: boolean, method: string): Stream {
    this.clearIdleTimer();
    const stream: Stream = {
      id,
      state: endStream ? "halfClosedRemote" : "open",
      localDone: false,
      busy: true,
      sendWindow: this.peerInitialWindow,
      recvWindow: this.options.initialWindowSize,
      unacked: 0,
      body: undefined,
      request: undefined,
      method,
      contentLength: undefined,
      received: 0,
      wake: undefined,
      windowDeadline: Infinity,
    };
    this.streams.set(id, stream);
    return stream;
  }

  private onRstStream(header: FrameHeader, payload: Uint8Array): void {
    const code = parseRstStream(header, payload);
    this.checkNotIdle(header.streamId, "RST_STREAM");
    this.count("resets", this.options.maxResetsPerWindow);
    const stream = this.streams.get(header.streamId);
    if (!stream || stream.state === "closed") return;
    this.abortStream(stream, new Error(`the client reset the stream (${errorCodeName(code)})`));
    this.closeStream(stream, "closed");
  }

  private onSettings(header: FrameHeader, payload: Uint8Array): void {
    const settings = parseSettings(header, payload);
    if (!settings) return;
    this.count("settings", this.options.maxSettingsPerWindow);
    for (const [id, value] of settings) {
      if (id === Setting.HEADER_TABLE_SIZE) this.encoder.setMaxTableSize(Math.min(value, 4096));
      else if (id === Setting.MAX_FRAME_SIZE) this.peerMaxFrameSize = value;
      else if (id === Setting.INITIAL_WINDOW_SIZE) {
        // §6.9.2: the change applies to every open stream's window, which may become negative.
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "a stream window above 2^31-1");
        }
        this.wakeWriters();
      }
    }
    this.output.post(SETTINGS_ACK);
  }

  private onPing(header: FrameHeader, payload: Uint8Array): void {
    const ping = parsePing(header, payload);
    if (ping.ack) return;
    this.count("pings", this.options.maxPingsPerWindow);
    this.output.post(pingAck(ping.data.slice()));
  }

  private onWindowUpdate(header: FrameHeader, payload: Uint8Array): void {
    const increment = parseWindowUpdate(header, payload);
    const id = header.streamId;
    if (id === 0) {
      if (this.sendWindow + increment > MAX_WINDOW) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
      this.sendWindow += increment;
      this.wakeWriters();
      return;
    }
    this.checkNotIdle(id, "WINDOW_UPDATE");
    const stream = this.streams.get(id);
    if (!stream || stream.localDone) return;
    if (stream.sendWindow + increment > MAX_WINDOW) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "stream window above 2^31-1", id);
    stream.sendWindow += increment;
    const wake = stream.wake;
    stream.wake = undefined;
    wake?.();
  }

  // Streams.

  /** Sends RST_STREAM and forgets the stream (a stream error, or the server giving up on it). */
  private resetStream(id: number, code: number): void {
    if (this.over) return;
    this.output.post(rstStreamFrame(id, code));
    const stream = this.streams.get(id);
    if (stream && stream.state !== "closed") {
      this.abortStream(stream, new Error(`stream reset (${errorCodeName(code)})`));
      this.closeStream(stream, "reset");
    } else if (!stream) this.remember(id, "reset");
  }

  /** Refuses a stream that was never handed to a handler. */
  private refuse(id: number, code: number): void {
    this.output.post(rstStreamFrame(id, code));
    this.remember(id, "reset");
  }

  private remember(id: number, how: "reset" | "closed"): void {
    this.closedStreams.set(id, how);
    if (this.closedStreams.size > MAX_REMEMBERED_CLOSED) this.closedStreams.delete(this.closedStreams.keys().next().value!);
  }

  private abortStream(stream: Stream, reason: Error): void {
    if (stream.request) abortRequest(stream.request, reason);
    // As HTTP/1.1's body does when its connection ends: a 400 that the server answers (to no one) without logging.
    stream.body?.fail(new HttpError(400, reason.message));
    const wake = stream.wake;
    stream.wake = undefined;
    wake?.();
  }

  /** The stream is closed in protocol terms; it leaves the table once its handler returned too. */
  private closeStream(stream: Stream, how: "reset" | "closed"): void {
    stream.state = "closed";
    this.remember(stream.id, how);
    if (!stream.busy) this.forget(stream);
  }

  private forget(stream: Stream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (this.streams.size === 0) {
      if (this.failing) return;
      if (this.goingAway || this.peerGoingAway) this.stopReading();
      else this.armIdleTimer();
    }
  }

  private async handle(stream: Stream, request: ServerRequest): Promise<void> {
    let response: Response | undefined;
    try {
      response = await this.host.respond(request, this.info);
      if (!response) response = this.directResponse(500, "the handler returned no Response");
    } catch (error) {
      this.host.report(error);
      response = this.directResponse(500, "Internal Server Error");
    }
    await this.answer(stream, response);
    markAnswered(request);
  }

  /** Writes the response (unless the stream is gone), then lets the stream go. */
  private async answer(stream: Stream, response: Response): Promise<void> {
    try {
      if (stream.state !== "closed" && !this.over) await this.writeResponse(stream, response);
      else await response.body?.cancel().catch(() => {});
    } catch (error) {
      if (stream.state !== "closed" && !this.over) this.resetStream(stream.id, ErrorCode.INTERNAL_ERROR);
      if (!(error instanceof StreamGone)) this.host.report(error);
    } finally {
      stream.busy = false;
      if (stream.state !== "closed" && stream.localDone) {
        // The response is complete but the client is still sending: it can stop (§8.1).
        if (stream.state === "open") {
          this.output.post(rstStreamFrame(stream.id, ErrorCode.NO_ERROR));
          stream.body?.discard();
          this.closeStream(stream, "reset");
        }
      }
      if (stream.state === "closed") this.forget(stream);
    }
  }

  private directResponse(status: number, message: string): Response {
    return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  private async writeResponse(stream: Stream, response: Response): Promise<void> {
    const parts = responseParts(response);
    const native = parts ? undefined : (FastResponse.nativeOf(response) ?? response);
    const status = parts?.status ?? native!.status;
    const headers = parts?.headers ?? native!.headers;
    const fields: HeaderField[] = [[":status", String(status)]];
    let declaredLength: number | undefined;
    // Field lines (a FastResponse's, nobody having asked for its Headers) carry each Set-Cookie on its own line.
    const asLines = Array.isArray(headers);
    let setCookies = false;
    for (const [name, value] of headers as Iterable<readonly [string, string]>) {
      if (name === "set-cookie" && !asLines) {
        setCookies = true;
        continue;
      }
      if (DROPPED_RESPONSE_FIELDS.has(name)) continue;
      if (name === "content-length") {
        if (!/^\d+$/.test(value)) throw new Error(`invalid Content-Length '${value}' in the handler's response`);
        declaredLength = Number(value);
      }
      fields.push([name, value]);
    }
    if (setCookies) for (const cookie of (headers as Headers).getSetCookie()) fields.push(["set-cookie", cookie]);
    fields.push(["date", httpDate()]);
    const bodyless = status === 204 || status === 304 || status < 200 || stream.method === "HEAD";

    if (parts) {
      let body: Uint8Array | string | null = parts.body;
      if (typeof body === "string") body = ASCII.test(body) ? latin1Bytes(body) : ENCODER.encode(body);
      const length = body?.length ?? 0;
      if (declaredLength === undefined && !(status === 204 || status === 304 || status < 200))
        fields.push(["content-length", String(length)]);
      if (bodyless || length === 0) {
        await this.sendHeaders(stream, fields, true);
        return;
      }
      this.sendHeaders(stream, fields, false).catch(() => {});
      await this.sendData(stream, body!, true);
      return;
    }

    const reader = bodyless ? undefined : native!.body?.getReader();
    if (!reader) {
      await native!.body?.cancel().catch(() => {});
      if (declaredLength === undefined && !bodyless) fields.push(["content-length", "0"]);
      await this.sendHeaders(stream, fields, true);
      return;
    }
    // A body that arrives whole (its end within a few microtask turns of its first piece) gets a content-length.
    const first: ReadableStreamReadResult<Uint8Array> = await reader.read();
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    let whole = false;
    if (!first.done && declaredLength === undefined) {
      pending = reader.read();
      const soon = await settledSoon(pending);
      whole = soon !== NOT_YET && soon.done;
      if (whole) fields.push(["content-length", String(toBytes(first.value).length)]);
    } else if (first.done && declaredLength === undefined) fields.push(["content-length", "0"]);
    if (first.done) {
      await this.sendHeaders(stream, fields, true);
      return;
    }
    this.sendHeaders(stream, fields, false).catch(() => {});
    if (whole) {
      await this.sendData(stream, toBytes(first.value), true);
      return;
    }
    try {
      let written = 0;
      let result: ReadableStreamReadResult<Uint8Array> = first;
      while (!result.done) {
        if (stream.state === "closed" || this.over) throw new StreamGone();
        const bytes = toBytes(result.value);
        written += bytes.length;
        if (declaredLength !== undefined && written > declaredLength) throw new Error("response body longer than its Content-Length");
        // Written before the next piece is read: the handler's stream sees the client's pace (backpressure).
        if (bytes.length) await this.sendData(stream, bytes, false);
        result = await (pending ?? reader.read());
        pending = undefined;
      }
      if (declaredLength !== undefined && written !== declaredLength) throw new Error("response body shorter than its Content-Length");
    } catch (error) {
      reader.cancel(error).catch(() => {});
      throw error;
    }
    await this.sendData(stream, EMPTY, true);
  }

  private sendHeaders(stream: Stream, fields: HeaderField[], endStream: boolean): Promise<void> {
    if (stream.state === "closed" || this.over) return Promise.reject(new StreamGone());
    // Encoded and queued in one step: header blocks must reach the client in the order the encoder made them.
    const block = this.encoder.encode(fields);
    if (endStream) this.localEnded(stream);
    return this.output.send(headerFrames(stream.id, block, endStream, this.peerMaxFrameSize));
  }

  private localEnded(stream: Stream): void {
    stream.localDone = true;
    if (stream.state === "halfClosedRemote") this.closeStream(stream, "closed");
  }

  /** DATA frames for `bytes` within the connection and stream windows, waiting for WINDOW_UPDATE when they are spent. */
  private async sendData(stream: Stream, bytes: Uint8Array, endStream: boolean): Promise<void> {
    let offset = 0;
    let last: Promise<void> | undefined;
    while (offset < bytes.length || (endStream && !stream.localDone)) {
      if (stream.state === "closed" || this.over) throw new StreamGone();
      const allowed = Math.max(0, Math.min(bytes.length - offset, this.sendWindow, stream.sendWindow, this.peerMaxFrameSize));
      if (allowed === 0 && offset < bytes.length) {
        if (last) await last;
        await this.windowFor(stream);
        continue;
      }
      const piece = bytes.subarray(offset, offset + allowed);
      offset += piece.length;
      this.sendWindow -= piece.length;
      stream.sendWindow -= piece.length;
      const end = endStream && offset === bytes.length;
      if (end) this.localEnded(stream);
      last = this.output.send(dataFrame(stream.id, piece, end));
    }
    await last;
  }

  /** Waits until a window update may let the stream write; a wait longer than bodyTimeout gives up. */
  private windowFor(stream: Stream): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      stream.windowDeadline = Date.now() + this.host.limits.bodyTimeout;
      stream.wake = (timedOut) => {
        stream.windowDeadline = Infinity;
        if (!timedOut) return resolve();
        if (this.sendWindow <= 0) {
          // The whole connection is stalled at zero: nothing can be written to this client.
          this.fail(ErrorCode.ENHANCE_YOUR_CALM, "the connection window stayed at zero");
        } else this.resetStream(stream.id, ErrorCode.CANCEL);
        reject(new StreamGone());
      };
    });
  }

  /** Called by the host's deadline sweep: the idle close, a client not reading, waits for window or for DATA. */
  checkDeadline(now: number): void {
    if (now >= this.idleDeadline) {
      this.idleDeadline = Infinity;
      if (this.streams.size === 0 && !this.closed) {
        this.goAway(ErrorCode.NO_ERROR, "idle");
        this.stopReading();
      }
    }
    if (now >= this.outputDeadline) {
      this.outputDeadline = Infinity;
      this.fail(ErrorCode.ENHANCE_YOUR_CALM, "the client does not read its replies");
    }
    for (const stream of this.streams.values()) {
      if (now >= stream.windowDeadline) {
        const wake = stream.wake;
        stream.wake = undefined;
        wake?.(true);
      }
      stream.body?.checkDeadline(now);
    }
  }

  private wakeWriters(): void {
    for (const stream of this.streams.values()) {
      const wake = stream.wake;
      stream.wake = undefined;
      wake?.();
    }
  }

  // The connection's end.

  private goAway(code: number, message: string): void {
    if (this.goingAway || this.closed) return;
    this.goingAway = true;
    this.goawayLastId = this.lastStreamId;
    this.output.post(goawayFrame(this.goawayLastId, code, code === ErrorCode.NO_ERROR ? "" : message));
  }

  /** A connection error: GOAWAY with the code, every stream aborted, the connection closed. */
  private fail(code: number, message: string): void {
    if (this.over) return;
    if (!this.goingAway) {
      this.goingAway = true;
      this.output.post(goawayFrame(this.lastStreamId, code, message));
    } else if (code !== ErrorCode.NO_ERROR) this.output.post(goawayFrame(this.goawayLastId, code, message));
    for (const stream of this.streams.values()) this.abortStream(stream, new Error(`connection error: ${errorCodeName(code)}`));
    // Closing with the client's bytes unread would reset the connection, and the client could lose the GOAWAY:
    // what it still sends is read and dropped for a moment first.
    this.failing = true;
    this.output?.interrupt();
    this.failTimer = setTimeout(() => this.stopReading(), FAIL_LINGER_MS);
  }

  private get over(): boolean {
    return this.closed || this.failing;
  }

  /** Reads and drops input until the client closes, `FAIL_LINGER_MS` passed, or `FAIL_LINGER_BYTES` came. */
  private async dropInput(): Promise<void> {
    let dropped = 0;
    while (!this.closed && dropped <= FAIL_LINGER_BYTES) {
      const { value, done } = await this.io.reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) break;
      dropped += value.length;
    }
  }

  /** Stops the read loop; `run()` then closes. */
  private stopReading(): void {
    if (this.closed) return;
    this.closed = true;
    this.output?.interrupt();
    this.io.reader.cancel("connection closed").catch(() => {});
  }

  private armIdleTimer(): void {
    this.idleDeadline = Date.now() + this.host.limits.idleTimeout;
  }

  private clearIdleTimer(): void {
    this.idleDeadline = Infinity;
  }

  private closing: Promise<void> | undefined;

  private close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.failTimer);
      this.host.deadlines.unwatch(this);
      for (const stream of this.streams.values()) this.abortStream(stream, new Error("the connection closed"));
      if (this.output) {
        // A client that does not read gets a second to take the last frames (GOAWAY), then the connection is dropped.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 1000)));
        const flushed = await Promise.race([
          this.output.flush().then(() =>
            this.io.writer.close().then(
              () => true,
              () => true,
            ),
          ),
          late,
        ]);
        clearTimeout(timer);
        if (!flushed) await this.io.writer.abort("the client does not read").catch(() => {});
      }
      this.io?.reader.cancel("connection closed").catch(() => {});
      await this.socket.close().catch(() => {});
      this.ended();
    })();
    return this.closing;
  }

  /** Resolves when the connection is closed. */
  get finished(): Promise<void> {
    return this.done;
  }
}

/** The write of a stream that was reset or whose connection closed. */
class StreamGone extends Error {
  constructor() {
    super("the stream is closed");
    this.name = "StreamGone";
  }
}

/** HTTP/2 reads the connection all the time: a client's leaving is noticed without a watch. */
const NO_WATCH = { watchForDisconnect() {} };

const NOT_YET = Symbol("not yet");

/** The read's result if it settles within a few microtask turns (a body already in memory does). */
async function settledSoon<T>(read: Promise<T>): Promise<T | typeof NOT_YET> {
  let result: T | typeof NOT_YET = NOT_YET;
  read.then(
    (value) => (result = value),
    () => {},
  );
  for (let turn = 0; turn < 8 && result === NOT_YET; turn++) await undefined;
  return result;
}

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
