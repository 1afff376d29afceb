/**
 * The Huffman code of HPACK (RFC 7541 §5.2, Appendix B). The code is canonical: a symbol's code follows from the
 * code lengths alone (shorter codes first, ties by symbol value), so only the lengths are stored here, one letter
 * per symbol 0..256 ("a" = 5 bits ... "z" = 30 bits); the codes are rebuilt from them on load.
 */
import { HpackError } from "./errors.js";

const LENGTHS =
  "isxxxxxxxtzxxzxxxxxxxxzxxxxxxxxxbffhibdgffdgdbbbaaabbbbbbbcdkbhfibccccccccccccccccccccccdcdioijbkabababbbaccbbbabcbaabccccckgjixprpprrrsrssssststtrstssssqrsrsstrqprrssqsrrtqrssqqrqsrssprrrsrrsvvporsruvvvwwvtuoqvwwvwtqqvvxwwwptpqrqqsrruuttvsvwvvwwwwwxwwwwwvz";
const EOS = 256;

/** Code length per symbol. */
const codeLength = new Uint8Array(257);
/** Code per symbol, right-aligned. */
const codeOf = new Uint32Array(257);
/** For each length: the first code of that length, how many codes have it, and where its symbols start in `sorted`. */
const firstCode = new Int32Array(32);
const countOf = new Int32Array(32);
const startOf = new Int32Array(32);
const sorted = new Uint16Array(257);

{
  for (let symbol = 0; symbol < 257; symbol++) codeLength[symbol] = LENGTHS.charCodeAt(symbol) - 97 + 5;
  const order = Array.from({ length: 257 }, (_, symbol) => symbol).sort((a, b) => codeLength[a]! - codeLength[b]! || a - b);
  let code = 0;
  let previous = codeLength[order[0]!]!;
  order.forEach((symbol, i) => {
    const length = codeLength[symbol]!;
    if (i > 0) code = (code + 1) * 2 ** (length - previous);
    previous = length;
    codeOf[symbol] = code;
    sorted[i] = symbol;
    if (countOf[length] === 0) {
      firstCode[length] = code;
      startOf[length] = i;
    }
    countOf[length]!++;
  });
}

/** Length in bytes of the Huffman encoding of `bytes`. */
export function huffmanLength(bytes: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) bits += codeLength[bytes[i]!]!;
  return (bits + 7) >>> 3;
}

/** Writes the Huffman encoding of `bytes` into `out` at `offset`; returns the offset after it. */
export function huffmanEncodeInto(bytes: Uint8Array, out: Uint8Array, offset: number): number {
  // Bits waiting to be written, left-aligned in `pending` (at most 7 + 30 bits: kept below 2^53 as a number).
  let pending = 0;
  let pendingBits = 0;
  for (let i = 0; i < bytes.length; i++) {
    const symbol = bytes[i]!;
    const length = codeLength[symbol]!;
    pending = pending * 2 ** length + codeOf[symbol]!;
    pendingBits += length;
    while (pendingBits >= 8) {
      pendingBits -= 8;
      const byte = Math.floor(pending / 2 ** pendingBits);
      out[offset++] = byte;
      pending -= byte * 2 ** pendingBits;
    }
  }
  // Padding: the most significant bits of EOS, all ones.
  if (pendingBits > 0) out[offset++] = (pending << (8 - pendingBits)) | (0xff >> pendingBits);
  return offset;
}

export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanLength(bytes));
  huffmanEncodeInto(bytes, out, 0);
  return out;
}

/**
 * Decodes a Huffman-coded string. Errors (RFC 7541 §5.2): the EOS symbol in the string, padding longer than 7 bits,
 * or padding that is not the most significant bits of EOS (all ones).
 */
export function huffmanDecode(input: Uint8Array, start = 0, end = input.length): Uint8Array {
  // Each symbol takes at least 5 bits.
  const out = new Uint8Array(Math.floor(((end - start) * 8) / 5));
  let written = 0;
  let code = 0;
  let length = 0;
  /** Whether every bit of the code read so far is a 1 (possible padding). */
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = input[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      code = code * 2 + b;
      length++;
      if (b === 0) allOnes = false;
      if (length < 5) continue;
      const index = code - firstCode[length]!;
      if (countOf[length]! > 0 && index >= 0 && index < countOf[length]!) {
        const symbol = sorted[startOf[length]! + index]!;
        if (symbol === EOS) throw new HpackError("Huffman-coded string contains EOS");
        out[written++] = symbol;
        code = 0;
        length = 0;
        allOnes = true;
      } else if (length >= 30) {
        throw new HpackError("invalid Huffman code");
      }
    }
  }
  if (length > 7) throw new HpackError("Huffman padding longer than 7 bits");
  if (!allOnes) throw new HpackError("Huffman padding is not the prefix of EOS");
  return out.subarray(0, written);
}
