/**
 * HPACK (RFC 7541): the header compression of HTTP/2. A `HpackDecoder` per connection reads the client's header
 * blocks, a `HpackEncoder` writes the server's. Every malformed input is an `HpackError` (COMPRESSION_ERROR), and
 * what a block may make the decoder hold is bounded: string lengths, the dynamic table's size, and the decoded
 * header list (an "HPACK bomb" — a small block that references a large table entry many times — stops adding
 * fields at the limit and is reported as `tooLarge`, without being expanded).
 */
import { HpackError } from "./errors.js";
import { huffmanDecode, huffmanEncodeInto, huffmanLength } from "./huffman.js";

export type HeaderField = [name: string, value: string];

/** RFC 7541 Appendix A. Index 1 is STATIC_TABLE[0]. */
export const STATIC_TABLE: readonly HeaderField[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_COUNT = STATIC_TABLE.length;
/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;

/** Static-table indices by "name\0value" and by name (the first, lowest index). */
const staticByField = new Map<string, number>();
const staticByName = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  staticByField.set(`${name}\0${value}`, i + 1);
  if (!staticByName.has(name)) staticByName.set(name, i + 1);
});

/** Header text is carried as bytes, one per character (ISO-8859-1), as HTTP field values are. */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(bytes.length, i + 4096)) as unknown as number[]);
  }
  return text;
}

function bytesOf(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The dynamic table (RFC 7541 §2.3.2, §4): newest entry first, evicting the oldest beyond `maxSize`. */
export class DynamicTable {
  /** A ring of entries; `entries[(head + i) % capacity]` is dynamic index i (0 = newest). */
  private entries: HeaderField[] = [];
  private head = 0;
  private count = 0;
  size = 0;

  constructor(public maxSize: number) {}

  get length(): number {
    return this.count;
  }

  /** Entry `i` (0 = newest). */
  get(i: number): HeaderField | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.entries[(this.head + i) % this.entries.length];
  }

  add(field: HeaderField): void {
    const entrySize = field[0].length + field[1].length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (§4.4).
    while (this.count > 0 && this.size + entrySize > this.maxSize) this.evict();
    if (entrySize > this.maxSize) return;
    if (this.count === this.entries.length) this.grow();
    this.head = (this.head - 1 + this.entries.length) % this.entries.length;
    this.entries[this.head] = field;
    this.count++;
    this.size += entrySize;
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    while (this.count > 0 && this.size > maxSize) this.evict();
  }

  private evict(): void {
    const oldest = (this.head + this.count - 1) % this.entries.length;
    const [name, value] = this.entries[oldest]!;
    this.size -= name.length + value.length + ENTRY_OVERHEAD;
    this.count--;
  }

  private grow(): void {
    const next: HeaderField[] = new Array(Math.max(16, this.entries.length * 2));
    for (let i = 0; i < this.count; i++) next[i] = this.get(i)!;
    this.entries = next;
    this.head = 0;
  }
}

export interface DecoderOptions {
  /**
   * The largest dynamic table the peer's encoder may use: our SETTINGS_HEADER_TABLE_SIZE (default 4096). A size
   * update above it is an error.
   */
  maxTableSize?: number;
  /** Decoded header list size (names, values and 32 per field, RFC 9113 §6.5.2) beyond which fields are dropped. */
  maxHeaderListSize?: number;
  /** Longest single name or value, in decoded bytes (default: `maxHeaderListSize`). */
  maxStringLength?: number;
}

export interface DecodedBlock {
  fields: HeaderField[];
  /** The list exceeded `maxHeaderListSize`: fields beyond it were dropped (the table was still updated). */
  tooLarge: boolean;
}

/** Largest integer a representation may carry (far above any table index, length or size this accepts). */
const MAX_INTEGER = 2 ** 31 - 1;

export class HpackDecoder {
  readonly table: DynamicTable;
  private maxTableSize: number;
  readonly maxHeaderListSize: number;
  readonly maxStringLength: number;
  // Reading position within the block being decoded.
  private input: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(options: DecoderOptions = {}) {
    this.maxTableSize = options.maxTableSize ?? 4096;
    this.table = new DynamicTable(this.maxTableSize);
    this.maxHeaderListSize = options.maxHeaderListSize ?? 64 * 1024;
    this.maxStringLength = options.maxStringLength ?? this.maxHeaderListSize;
  }

  /** Our SETTINGS_HEADER_TABLE_SIZE changed (after its ACK): the encoder's next size update must fit it. */
  setMaxTableSize(size: number): void {
    this.maxTableSize = size;
    if (this.table.maxSize > size) this.table.resize(size);
  }

  /** Decodes one complete header block. */
  decode(block: Uint8Array): DecodedBlock {
    this.input = block;
    this.pos = 0;
    const fields: HeaderField[] = [];
    let listSize = 0;
    let tooLarge = false;
    let fieldSeen = false;
    while (this.pos < block.length) {
      const byte = block[this.pos]!;
      let field: HeaderField;
      if (byte & 0x80) {
        // §6.1 Indexed Header Field.
        field = this.indexed(this.integer(7));
      } else if (byte & 0x40) {
        // §6.2.1 Literal with Incremental Indexing.
        field = this.literal(6);
        this.table.add(field);
      } else if (byte & 0x20) {
        // §6.3 Dynamic Table Size Update: only at the start of a block (§4.2).
        if (fieldSeen) throw new HpackError("dynamic table size update after a header field");
        const size = this.integer(5);
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update to ${size} exceeds ${this.maxTableSize}`);
        this.table.resize(size);
        continue;
      } else {
        // §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
        field = this.literal(4);
      }
      fieldSeen = true;
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > this.maxHeaderListSize) tooLarge = true;
      else fields.push(field);
    }
    this.input = new Uint8Array(0);
    return { fields, tooLarge };
  }

  private indexed(index: number): HeaderField {
    if (index === 0) throw new HpackError("index 0");
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]!;
    const field = this.table.get(index - STATIC_COUNT - 1);
    if (!field) throw new HpackError(`index ${index} is beyond the tables`);
    return field;
  }

  private literal(prefixBits: number): HeaderField {
    const index = this.integer(prefixBits);
    const name = index === 0 ? this.string() : this.indexed(index)[0];
    return [name, this.string()];
  }

  /** §5.1: an integer with an N-bit prefix. */
  private integer(prefixBits: number): number {
    const { input } = this;
    if (this.pos >= input.length) throw new HpackError("truncated integer");
    const mask = (1 << prefixBits) - 1;
    let value = input[this.pos++]! & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= input.length) throw new HpackError("truncated integer");
      const byte = input[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (value > MAX_INTEGER) throw new HpackError("integer too large");
      if ((byte & 0x80) === 0) return value;
      // Over-long encodings (zero continuation bytes) are bounded too.
      if (shift > 28) throw new HpackError("integer too long");
    }
  }

  /** §5.2: a string literal, Huffman-coded or not. */
  private string(): string {
    const { input } = this;
    if (this.pos >= input.length) throw new HpackError("truncated string");
    const huffman = (input[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    if (length > input.length - this.pos) throw new HpackError("string longer than the block");
    const start = this.pos;
    this.pos += length;
    if (!huffman) {
      if (length > this.maxStringLength) throw new HpackError("string too long");
      return latin1(input.subarray(start, this.pos));
    }
    // Every symbol takes at most 30 bits: a string that must decode longer than the limit is refused undecoded.
    if (Math.floor((length * 8) / 30) > this.maxStringLength) throw new HpackError("string too long");
    const decoded = huffmanDecode(input, start, this.pos);
    if (decoded.length > this.maxStringLength) throw new HpackError("string too long");
    return latin1(decoded);
  }
}

export interface EncoderOptions {
  /** Dynamic table size this encoder uses (at most the peer's SETTINGS_HEADER_TABLE_SIZE). Default 4096. */
  maxTableSize?: number;
  /** Huffman-code strings: always, never, or when shorter ("auto", the default). */
  huffman?: "always" | "never" | "auto";
  /** Whether a field is added to the dynamic table; by default all but those named in `NOT_INDEXED`. */
  index?: (name: string, value: string) => boolean;
}

/** Fields whose values change with nearly every response or are secrets: not worth (or not safe) indexing. */
const NOT_INDEXED = new Set(["content-length", "set-cookie", "authorization", "cookie", "etag", "last-modified", ":path", "age"]);

const defaultIndexing = (name: string, value: string) => !NOT_INDEXED.has(name) && value.length < 256;

export class HpackEncoder {
  readonly table: DynamicTable;
  private readonly huffman: "always" | "never" | "auto";
  private readonly shouldIndex: (name: string, value: string) => boolean;
  /** Insertion number of each entry by "name\0value" and by name (the newest); dynamic index = inserted - number. */
  private readonly byField = new Map<string, number>();
  private readonly byName = new Map<string, number>();
  private inserted = 0;
  /** Size updates to announce at the start of the next block (§4.2): the smallest since the last, then the last. */
  private pendingUpdates: number[] = [];
  /** Output under construction. */
  private out = new Uint8Array(256);
  private pos = 0;

  constructor(options: EncoderOptions = {}) {
    this.table = new DynamicTable(options.maxTableSize ?? 4096);
    this.huffman = options.huffman ?? "auto";
    this.shouldIndex = options.index ?? defaultIndexing;
  }

  /** Changes the table size (the peer's SETTINGS_HEADER_TABLE_SIZE changed); announced in the next block. */
  setMaxTableSize(size: number): void {
    if (size === this.table.maxSize && this.pendingUpdates.length === 0) return;
    const smallest = Math.min(size, ...this.pendingUpdates);
    this.pendingUpdates = smallest < size ? [smallest, size] : [size];
    this.table.resize(size);
    this.pruneMaps();
  }

  /** Encodes one header block. */
  encode(fields: Iterable<HeaderField>): Uint8Array {
    this.pos = 0;
    for (const size of this.pendingUpdates) this.integer(size, 5, 0x20);
    this.pendingUpdates = [];
    for (const [name, value] of fields) this.field(name, value);
    return this.out.slice(0, this.pos);
  }

  private field(name: string, value: string): void {
    const key = `${name}\0${value}`;
    const staticIndex = staticByField.get(key);
    const known = staticIndex ?? this.dynamicIndex(this.byField.get(key));
    if (known !== undefined) {
      this.integer(known, 7, 0x80);
      return;
    }
    const nameIndex = staticByName.get(name) ?? this.dynamicIndex(this.byName.get(name)) ?? 0;
    const index = this.table.maxSize > 0 && this.shouldIndex(name, value);
    if (index) this.integer(nameIndex, 6, 0x40);
    else this.integer(nameIndex, 4, 0x00);
    if (nameIndex === 0) this.string(name);
    this.string(value);
    if (index) {
      this.table.add([name, value]);
      const number = ++this.inserted;
      this.byField.set(key, number);
      this.byName.set(name, number);
      if (this.table.length < this.byField.size) this.pruneMaps();
    }
  }

  /** The HPACK index of the entry with insertion number `number`, if it is still in the table. */
  private dynamicIndex(number: number | undefined): number | undefined {
    if (number === undefined) return undefined;
    const position = this.inserted - number;
    return position < this.table.length ? STATIC_COUNT + 1 + position : undefined;
  }

  /** Drops map entries for evicted table entries. */
  private pruneMaps(): void {
    const oldest = this.inserted - this.table.length;
    for (const [key, number] of this.byField) if (number <= oldest) this.byField.delete(key);
    for (const [key, number] of this.byName) if (number <= oldest) this.byName.delete(key);
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.out.length) return;
    const next = new Uint8Array(Math.max(this.out.length * 2, this.pos + bytes));
    next.set(this.out.subarray(0, this.pos));
    this.out = next;
  }

  private integer(value: number, prefixBits: number, firstBits: number): void {
    this.reserve(6);
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.out[this.pos++] = firstBits | value;
      return;
    }
    this.out[this.pos++] = firstBits | max;
    value -= max;
    while (value >= 128) {
      this.out[this.pos++] = (value % 128) + 128;
      value = Math.floor(value / 128);
    }
    this.out[this.pos++] = value;
  }

  private string(text: string): void {
    const bytes = bytesOf(text);
    const huffmanSize = this.huffman === "never" ? Infinity : huffmanLength(bytes);
    const huffman = this.huffman === "always" || huffmanSize < bytes.length;
    const length = huffman ? huffmanSize : bytes.length;
    this.integer(length, 7, huffman ? 0x80 : 0);
    this.reserve(length);
    if (huffman) this.pos = huffmanEncodeInto(bytes, this.out, this.pos);
    else {
      this.out.set(bytes, this.pos);
      this.pos += length;
    }
  }
}
