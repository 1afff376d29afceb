/** Byte helpers shared by the protocol code: HTTP, WebSocket and the bundle format (web platform only). */

export const EMPTY = new Uint8Array(0);
const CR = 13;
const LF = 10;

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The pieces joined into one array (the piece itself when there is only one). */
export function concatAll(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  let total = 0;
  for (const piece of pieces) total += piece.length;
  const result = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    result.set(piece, offset);
    offset += piece.length;
  }
  return result;
}

/** Index of the first CRLF at or after `from`, or -1. */
export function indexOfCrlf(bytes: Uint8Array, from = 0): number {
  let i = bytes.indexOf(LF, from + 1);
  while (i !== -1) {
    if (bytes[i - 1] === CR) return i - 1;
    i = bytes.indexOf(LF, i + 1);
  }
  return -1;
}

/** Index of the CRLFCRLF that ends a header section, searching from `from`, or -1. */
export function indexOfHeadEnd(bytes: Uint8Array, from = 0): number {
  let i = bytes.indexOf(LF, Math.max(from, 3));
  while (i !== -1) {
    if (bytes[i - 1] === CR && bytes[i - 2] === LF && bytes[i - 3] === CR) return i - 3;
    i = bytes.indexOf(LF, i + 1);
  }
  return -1;
}

/** ASCII text is the same in UTF-8 and ISO-8859-1; `fatal` makes any other byte sequence either throw or shrink. */
const ASCII_DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/**
 * From this length on, trying the engine's decoder first pays. On Node, Deno and Bun it does from 32 bytes (a 100-byte
 * request head: 62 ns against 300). In a browser page each call crosses the bindings: in Chromium a request head's
 * decode took 1.9 µs on the server's path (String.fromCharCode: 1.0), so there only long text goes to the decoder.
 */
const DECODER_WORTH_TRYING = "document" in globalThis ? 256 : 32;

/** Bytes as ISO-8859-1 text, one character per byte: how HTTP field values are carried. */
export function decodeLatin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end - start >= DECODER_WORTH_TRYING) {
    try {
      // As many characters as bytes only if every byte was ASCII (a UTF-8 sequence of n bytes makes fewer than n).
      const text = ASCII_DECODER.decode(bytes.subarray(start, end));
      if (text.length === end - start) return text;
    } catch {
      // Not UTF-8: obs-text bytes, decoded one by one below.
    }
  }
  let text = "";
  // Chunks keep String.fromCharCode's argument count well below engine limits.
  for (let i = start; i < end; i += 4096) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return text;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Web Crypto's `BufferSource` type excludes views of a SharedArrayBuffer; the bytes handled here never are. */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
