/**
 * permessage-deflate payloads (RFC 7692 section 7.2) with the web compression streams.
 *
 * Each message is its own deflate stream (no context takeover either way, see extensions.ts).
 * `CompressionStream` always finishes its stream with a final block; deflate-tail.ts rewrites that into
 * the sync-flushed form. Incoming payloads get the 00 00 ff ff tail plus a final empty stored block, so
 * the decompressor sees a complete stream.
 */

import { concatAll } from "../shared/bytes.js";
import { CloseCode, ProtocolError } from "./frames.js";
import { toSyncFlushPayload } from "./deflate-tail.js";

/** Ends a sync-flushed message (00 00 ff ff) and then the stream (a final, empty stored block). */
const INFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);

async function readAll(readable: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new ProtocolError(CloseCode.MessageTooBig, `message exceeds ${limit} bytes once decompressed`);
    }
    chunks.push(value);
  }
  return concatAll(chunks);
}

/** Writes the pieces in the background, so a full readable side never stalls the writer. */
function feed(writable: WritableStream<BufferSource>, pieces: readonly Uint8Array[]): void {
  const writer = writable.getWriter();
  (async () => {
    // The cast: these views never sit on a SharedArrayBuffer.
    for (const piece of pieces) await writer.write(piece as BufferSource);
    await writer.close();
  })().catch(() => {
    // The readable side reports the failure (or was cancelled on purpose).
  });
}

/**
 * The largest compressed message (the payloads of its frames) accepted for messages of at most `maxPayloadLength`
 * bytes once inflated. Data that does not compress grows in deflate: by 5 bytes per stored block (zlib, behind
 * browsers, `ws` and Node: about 0.03 %) and by at most 1/8 in fixed-Huffman blocks (9 bits for bytes 144-255);
 * encoders use those where their dynamic codes would do worse. So the wire may carry 1/8 more than the limit,
 * plus 1 KiB for block headers and the flush of short messages; a bigger message is refused before it is read.
 */
export function maxCompressedPayloadLength(maxPayloadLength: number): number {
  return maxPayloadLength + Math.ceil(maxPayloadLength / 8) + 1024;
}

/** The permessage-deflate payload of one message. */
export async function deflateMessage(data: Uint8Array): Promise<Uint8Array> {
  const stream = new CompressionStream("deflate-raw");
  feed(stream.writable, [data]);
  return toSyncFlushPayload(await readAll(stream.readable, Infinity));
}

/** The message inside a permessage-deflate payload, at most `limit` bytes. */
export async function inflateMessage(payload: Uint8Array, limit: number): Promise<Uint8Array> {
  try {
    return await inflate([payload, INFLATE_TAIL], limit);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
  }
  // A sender may end a message with a final deflate block instead of a sync flush, even followed by more bytes
  // (RFC 7692 section 7.2.3.4; the RFC's example has one). DecompressionStreams disagree on what follows the end
  // (Chromium's, Deno's and Bun's reject it) and on a stream without an end (Deno's accepts it), so the final
  // block is rewritten into the sync-flushed form, which fails on data without a complete final block.
  let rewritten: Uint8Array;
  try {
    rewritten = toSyncFlushPayload(payload);
  } catch {
    throw new ProtocolError(CloseCode.InvalidPayload, "invalid compressed data");
  }
  try {
    return await inflate([rewritten, INFLATE_TAIL], limit);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError(CloseCode.InvalidPayload, "invalid compressed data");
  }
}

function inflate(chunks: Uint8Array[], limit: number): Promise<Uint8Array> {
  const stream = new DecompressionStream("deflate-raw");
  feed(stream.writable, chunks);
  return readAll(stream.readable, limit);
}
