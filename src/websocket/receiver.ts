/**
 * Incremental frame parser and message assembler for client-to-server traffic (RFC 6455 section 5).
 *
 * Data frame payloads are consumed as they arrive, so only a frame header or a control frame
 * (at most 139 bytes) is ever carried over between chunks; text is UTF-8 checked as it arrives and
 * decoded once it is complete.
 */

import { EMPTY, concatBytes } from "../shared/bytes.js";
import { CloseCode, MAX_CONTROL_PAYLOAD, Opcode, ProtocolError, isValidCloseCode, unmask } from "./frames.js";
import { inflateMessage, maxCompressedPayloadLength } from "./deflate.js";
import { Utf8Validator } from "./utf8.js";

export interface ReceiverEvents {
  message(data: string | Uint8Array): void;
  ping(payload: Uint8Array): void;
  pong(payload: Uint8Array): void;
  /** The peer's close frame; `code` is 1005 when it carried none. */
  close(code: number, reason: string): void;
}

export interface ReceiverOptions {
  /**
   * Largest message (all fragments, and after decompression) in bytes. A compressed message is bounded on the wire
   * separately, by `maxCompressedPayloadLength` of it: incompressible data grows a little when compressed.
   */
  maxPayloadLength: number;
  /** permessage-deflate was negotiated: RSV1 marks compressed messages. */
  compression: boolean;
}

/** Marks "between frames": the next bytes are a frame header. */
const AT_HEADER = -1;

/**
 * The bytes of the message being assembled: a view of the first piece while it is the only one (no copy
 * for the common single-frame message), then one buffer growing by doubling up to `limit` — never one
 * object per fragment, which a peer sending 1-byte fragments would turn into millions.
 */
class MessageBytes {
  private first: Uint8Array | undefined;
  private buffer: Uint8Array = EMPTY;
  private length = 0;

  constructor(private readonly limit: number) {}

  append(piece: Uint8Array): void {
    if (this.length === 0 && !this.first) {
      this.first = piece;
      return;
    }
    if (this.first) {
      const first = this.first;
      this.first = undefined;
      this.reserve(first.length + piece.length);
      this.buffer.set(first);
      this.length = first.length;
    } else {
      this.reserve(this.length + piece.length);
    }
    this.buffer.set(piece, this.length);
    this.length += piece.length;
  }

  take(): Uint8Array {
    const bytes = this.first ?? this.buffer.subarray(0, this.length);
    this.first = undefined;
    this.buffer = EMPTY;
    this.length = 0;
    return bytes;
  }

  private reserve(needed: number): void {
    if (needed <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, Math.min(this.limit, Math.max(4096, this.buffer.length * 2))));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

function fail(code: number, message: string): never {
  throw new ProtocolError(code, message);
}

export class Receiver {
  private buffer: Uint8Array = EMPTY;
  private offset = 0;
  private stopped = false;

  // The frame being read.
  private frameRemaining = AT_HEADER;
  private frameFin = false;
  private readonly mask = new Uint8Array(4);
  private maskOffset = 0;

  // The message being assembled.
  private messageOpcode = 0;
  private messageCompressed = false;
  private messageSize = 0;
  private readonly bytes: MessageBytes;
  private readonly maxCompressedLength: number;
  private readonly utf8 = new Utf8Validator();
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(
    private readonly events: ReceiverEvents,
    private readonly options: ReceiverOptions,
  ) {
    this.maxCompressedLength = maxCompressedPayloadLength(options.maxPayloadLength);
    this.bytes = new MessageBytes(options.compression ? this.maxCompressedLength : options.maxPayloadLength);
  }

  /**
   * Consumes bytes from the peer. Throws `ProtocolError` on a violation. Returns a promise only while a
   * compressed message is inflated: the caller waits for it before pushing more (messages stay in order).
   */
  push(chunk: Uint8Array): Promise<void> | undefined {
    if (this.stopped) return undefined;
    this.buffer = this.offset < this.buffer.length ? concatBytes(this.buffer.subarray(this.offset), chunk) : chunk;
    this.offset = 0;
    return this.run();
  }

  private run(): Promise<void> | undefined {
    while (!this.stopped) {
      if (this.frameRemaining === AT_HEADER) {
        if (!this.readHeader()) return undefined;
        continue;
      }
      const available = this.buffer.length - this.offset;
      if (available === 0 && this.frameRemaining > 0) return undefined;
      const length = Math.min(available, this.frameRemaining);
      const piece = this.buffer.subarray(this.offset, this.offset + length);
      this.offset += length;
      unmask(piece, this.mask, this.maskOffset);
      this.maskOffset += length;
      this.frameRemaining -= length;
      this.addPiece(piece);
      if (this.frameRemaining === 0) {
        this.frameRemaining = AT_HEADER;
        if (this.frameFin) {
          const inflating = this.finishMessage();
          if (inflating) return inflating.then(() => this.run());
        }
      }
    }
    return undefined;
  }

  /** Reads one frame header (and a whole control frame); false when more bytes are needed. */
  private readHeader(): boolean {
    const bytes = this.buffer;
    const start = this.offset;
    const available = bytes.length - start;
    if (available < 2) return false;
    const first = bytes[start]!;
    const second = bytes[start + 1]!;
    const fin = (first & 0x80) !== 0;
    const rsv1 = (first & 0x40) !== 0;
    const opcode = first & 0x0f;
    if (first & 0x30) fail(CloseCode.ProtocolError, "reserved bits RSV2/RSV3 set without an extension");
    if (opcode >= 0x8) {
      if (opcode > Opcode.Pong) fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`);
      if (!fin) fail(CloseCode.ProtocolError, "fragmented control frame");
      if (rsv1) fail(CloseCode.ProtocolError, "RSV1 set on a control frame");
      if ((second & 0x7f) > MAX_CONTROL_PAYLOAD) fail(CloseCode.ProtocolError, "control frame payload over 125 bytes");
    } else if (opcode > Opcode.Binary) {
      fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`);
    } else if (opcode === Opcode.Continuation) {
      if (this.messageOpcode === 0) fail(CloseCode.ProtocolError, "continuation frame without a message to continue");
      if (rsv1) fail(CloseCode.ProtocolError, "RSV1 set on a continuation frame");
    } else {
      if (this.messageOpcode !== 0) fail(CloseCode.ProtocolError, "new message before the previous one finished");
      if (rsv1 && !this.options.compression) fail(CloseCode.ProtocolError, "RSV1 set without permessage-deflate");
    }
    if ((second & 0x80) === 0) fail(CloseCode.ProtocolError, "client frames must be masked");

    let length = second & 0x7f;
    const lengthBytes = length === 126 ? 2 : length === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + 4;
    if (available < headerLength) return false;
    if (length === 126) {
      length = (bytes[start + 2]! << 8) | bytes[start + 3]!;
    } else if (length === 127) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + start + 2, 8);
      const high = view.getUint32(0);
      if (high & 0x80000000) fail(CloseCode.ProtocolError, "64-bit payload length with the top bit set");
      length = high * 0x100000000 + view.getUint32(4);
    }

    if (opcode >= 0x8) {
      if (available < headerLength + length) return false;
      this.mask.set(bytes.subarray(start + headerLength - 4, start + headerLength));
      const payload = bytes.slice(start + headerLength, start + headerLength + length);
      unmask(payload, this.mask, 0);
      this.offset = start + headerLength + length;
      this.handleControl(opcode, payload);
      return true;
    }

    // A compressed message meets maxPayloadLength once inflated (inflateMessage); here only its bound on the wire.
    const compressed = opcode === Opcode.Continuation ? this.messageCompressed : rsv1;
    const limit = compressed ? this.maxCompressedLength : this.options.maxPayloadLength;
    if (this.messageSize + length > limit) {
      fail(CloseCode.MessageTooBig, `${compressed ? "compressed message" : "message"} exceeds ${limit} bytes`);
    }
    if (opcode !== Opcode.Continuation) {
      this.messageOpcode = opcode;
      this.messageCompressed = rsv1;
    }
    this.mask.set(bytes.subarray(start + headerLength - 4, start + headerLength));
    this.maskOffset = 0;
    this.offset = start + headerLength;
    this.frameRemaining = length;
    this.frameFin = fin;
    return true;
  }

  private addPiece(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.messageSize += piece.length;
    if (this.messageOpcode === Opcode.Text && !this.messageCompressed && !this.utf8.push(piece)) {
      fail(CloseCode.InvalidPayload, "text is not valid UTF-8");
    }
    this.bytes.append(piece);
  }

  private decodeText(bytes: Uint8Array): string {
    try {
      return this.decoder.decode(bytes);
    } catch {
      return fail(CloseCode.InvalidPayload, "text is not valid UTF-8");
    }
  }

  private finishMessage(): Promise<void> | undefined {
    const { messageOpcode: opcode, messageCompressed: compressed } = this;
    const bytes = this.bytes.take();
    this.messageOpcode = 0;
    this.messageCompressed = false;
    this.messageSize = 0;
    if (compressed) {
      return inflateMessage(bytes, this.options.maxPayloadLength).then((data) => {
        if (this.stopped) return;
        this.events.message(opcode === Opcode.Text ? this.decodeText(data) : data);
      });
    }
    if (opcode === Opcode.Text && !this.utf8.finish()) fail(CloseCode.InvalidPayload, "text ends inside a character");
    this.events.message(opcode === Opcode.Text ? this.decodeText(bytes) : bytes);
    return undefined;
  }

  private handleControl(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) {
      this.events.ping(payload);
      return;
    }
    if (opcode === Opcode.Pong) {
      this.events.pong(payload);
      return;
    }
    if (payload.length === 1) fail(CloseCode.ProtocolError, "close frame with a 1-byte payload");
    let code: number = CloseCode.NoStatus;
    let reason = "";
    if (payload.length >= 2) {
      code = (payload[0]! << 8) | payload[1]!;
      if (!isValidCloseCode(code)) fail(CloseCode.ProtocolError, `invalid close code ${code}`);
      try {
        reason = this.decoder.decode(payload.subarray(2));
      } catch {
        fail(CloseCode.InvalidPayload, "close reason is not valid UTF-8");
      }
    }
    this.stopped = true;
    this.events.close(code, reason);
  }
}
