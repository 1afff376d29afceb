/**
 * Turns a finished raw deflate stream (what `CompressionStream` produces: its last block has BFINAL set)
 * into a permessage-deflate payload as if the stream had been sync-flushed instead (RFC 7692 7.2.1):
 * every block non-final, then an empty stored block whose 00 00 ff ff is left off.
 *
 * Peers may keep one inflater for the whole connection, even with server_no_context_takeover (undici
 * does); a final block would end that inflater's stream, so the final bit has to go. Finding it and the
 * end of the last block means walking the Huffman codes of every block; nothing is decompressed.
 */

const LENGTH_EXTRA_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DISTANCE_EXTRA_BITS = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

class BitReader {
  position = 0;
  constructor(private readonly bytes: Uint8Array) {}

  bit(): number {
    const byte = this.bytes[this.position >>> 3];
    if (byte === undefined) throw new Error("deflate stream ended early");
    const value = (byte >>> (this.position & 7)) & 1;
    this.position++;
    return value;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value |= this.bit() << i;
    return value;
  }
}

/** A canonical Huffman code, decoded bit by bit (RFC 1951 section 3.2.2). */
class Huffman {
  private readonly counts = new Uint16Array(16);
  private readonly symbols: Uint16Array;

  constructor(lengths: ArrayLike<number>) {
    this.symbols = new Uint16Array(lengths.length);
    for (let i = 0; i < lengths.length; i++) this.counts[lengths[i]!]!++;
    this.counts[0] = 0;
    const offsets = new Uint16Array(16);
    for (let length = 1; length < 16; length++) offsets[length] = offsets[length - 1]! + this.counts[length - 1]!;
    for (let symbol = 0; symbol < lengths.length; symbol++) {
      if (lengths[symbol]) this.symbols[offsets[lengths[symbol]!]!++] = symbol;
    }
  }

  decode(reader: BitReader): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let length = 1; length < 16; length++) {
      code |= reader.bit();
      const count = this.counts[length]!;
      if (code - first < count) return this.symbols[index + code - first]!;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new Error("invalid Huffman code");
  }
}

const FIXED_LITERALS = new Huffman(Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)));
const FIXED_DISTANCES = new Huffman(new Array<number>(30).fill(5));

function readDynamicTables(reader: BitReader): [Huffman, Huffman] {
  const literalCount = reader.bits(5) + 257;
  const distanceCount = reader.bits(5) + 1;
  const codeLengthCount = reader.bits(4) + 4;
  const codeLengthLengths = new Uint8Array(19);
  for (let i = 0; i < codeLengthCount; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]!] = reader.bits(3);
  const codeLengths = new Huffman(codeLengthLengths);
  const lengths = new Uint8Array(literalCount + distanceCount);
  for (let i = 0; i < lengths.length; ) {
    const symbol = codeLengths.decode(reader);
    if (symbol < 16) lengths[i++] = symbol;
    else if (symbol === 16) {
      const previous = lengths[i - 1] ?? 0;
      for (let repeat = reader.bits(2) + 3; repeat > 0; repeat--) lengths[i++] = previous;
    } else {
      i += symbol === 17 ? reader.bits(3) + 3 : reader.bits(7) + 11;
    }
  }
  return [new Huffman(lengths.subarray(0, literalCount)), new Huffman(lengths.subarray(literalCount))];
}

function skipCompressedBlock(reader: BitReader, literals: Huffman, distances: Huffman): void {
  for (;;) {
    const symbol = literals.decode(reader);
    if (symbol === 256) return;
    if (symbol > 256) {
      const lengthExtra = LENGTH_EXTRA_BITS[symbol - 257];
      if (lengthExtra === undefined) throw new Error("invalid length symbol");
      reader.position += lengthExtra;
      const distanceExtra = DISTANCE_EXTRA_BITS[distances.decode(reader)];
      if (distanceExtra === undefined) throw new Error("invalid distance symbol");
      reader.position += distanceExtra;
    }
  }
}

export function toSyncFlushPayload(stream: Uint8Array): Uint8Array {
  const reader = new BitReader(stream);
  let finalHeader: number;
  for (;;) {
    const header = reader.position;
    const final = reader.bit();
    const type = reader.bits(2);
    if (type === 0) {
      const start = (reader.position + 7) >>> 3;
      const length = stream[start]! | (stream[start + 1]! << 8);
      reader.position = (start + 4 + length) * 8;
    } else if (type === 1) {
      skipCompressedBlock(reader, FIXED_LITERALS, FIXED_DISTANCES);
    } else if (type === 2) {
      skipCompressedBlock(reader, ...readDynamicTables(reader));
    } else {
      throw new Error("invalid deflate block type");
    }
    if (final) {
      finalHeader = header;
      break;
    }
  }
  const end = reader.position;
  // A stored block is skipped by its length, not read: it may claim more bytes than there are.
  if (end > stream.length * 8) throw new Error("deflate stream ended early");
  // After the last block: the empty stored block's 3 header bits (zeros), then padding to a byte.
  const payload = new Uint8Array((end + 3 + 7) >>> 3);
  payload.set(stream.subarray(0, Math.min(payload.length, stream.length)));
  payload[finalHeader >>> 3]! &= ~(1 << (finalHeader & 7));
  payload[end >>> 3]! &= (1 << (end & 7)) - 1;
  payload.fill(0, (end >>> 3) + 1);
  return payload;
}
