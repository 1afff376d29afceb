/** HPACK (RFC 7541): the Appendix C examples byte for byte, Huffman coding, and every malformed input refused. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../src/http2/hpack.js";
import { huffmanDecode, huffmanEncode } from "../src/http2/huffman.js";
import { ErrorCode, HpackError } from "../src/http2/errors.js";

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

const REQUESTS: HeaderField[][] = [
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ],
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ],
  [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ],
];
const RESPONSES: HeaderField[][] = [
  [
    [":status", "302"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["location", "https://www.example.com"],
  ],
  [
    [":status", "307"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["location", "https://www.example.com"],
  ],
  [
    [":status", "200"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
    ["location", "https://www.example.com"],
    ["content-encoding", "gzip"],
    ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
  ],
];

/** RFC 7541 Appendix C.3–C.6: the wire bytes of each block and the dynamic table size after it. */
const EXAMPLES: Array<{
  section: string;
  huffman: boolean;
  tableSize: number;
  blocks: string[];
  sizes: number[];
  fields: HeaderField[][];
}> = [
  {
    section: "C.3 requests without Huffman coding",
    huffman: false,
    tableSize: 4096,
    fields: REQUESTS,
    sizes: [57, 110, 164],
    blocks: [
      "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "8286 84be 5808 6e6f 2d63 6163 6865",
      "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ],
  },
  {
    section: "C.4 requests with Huffman coding",
    huffman: true,
    tableSize: 4096,
    fields: REQUESTS,
    sizes: [57, 110, 164],
    blocks: [
      "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      "8286 84be 5886 a8eb 1064 9cbf",
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ],
  },
  {
    section: "C.5 responses without Huffman coding (table of 256 bytes, with evictions)",
    huffman: false,
    tableSize: 256,
    fields: RESPONSES,
    sizes: [222, 222, 215],
    blocks: [
      "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "4803 3330 37c1 c0bf",
      "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
    ],
  },
  {
    section: "C.6 responses with Huffman coding (table of 256 bytes, with evictions)",
    huffman: true,
    tableSize: 256,
    fields: RESPONSES,
    sizes: [222, 222, 215],
    blocks: [
      "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
      "4883 640e ffc1 c0bf",
      "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ],
  },
];

for (const example of EXAMPLES) {
  test(`RFC 7541 ${example.section}: decoded`, () => {
    const decoder = new HpackDecoder({ maxTableSize: example.tableSize });
    decoder.table.resize(example.tableSize);
    example.blocks.forEach((block, i) => {
      const { fields, tooLarge } = decoder.decode(hex(block));
      assert.deepEqual(fields, example.fields[i]);
      assert.equal(tooLarge, false);
      assert.equal(decoder.table.size, example.sizes[i]);
    });
  });

  test(`RFC 7541 ${example.section}: encoded byte for byte`, () => {
    const encoder = new HpackEncoder({ maxTableSize: example.tableSize, huffman: example.huffman ? "always" : "never", index: () => true });
    example.fields.forEach((fields, i) => {
      assert.equal(toHex(encoder.encode(fields)), example.blocks[i]!.replace(/\s+/g, ""));
      assert.equal(encoder.table.size, example.sizes[i]);
    });
  });
}

test("RFC 7541 C.1 integers: 10 in a 5-bit prefix, 1337 in a 5-bit prefix, 42 at an octet boundary", () => {
  // Through the decoder: a size update carries a 5-bit-prefix integer, an indexed field a 7-bit one.
  const decoder = new HpackDecoder({ maxTableSize: 4096 });
  decoder.decode(hex("2a"));
  assert.equal(decoder.table.maxSize, 10);
  decoder.decode(hex("3f9a0a"));
  assert.equal(decoder.table.maxSize, 1337);
  const encoder = new HpackEncoder({ maxTableSize: 4096 });
  encoder.setMaxTableSize(1337);
  assert.equal(toHex(encoder.encode([])), "3f9a0a");
});

test("Huffman: round trip of every byte value and of random strings; the default encoder picks the shorter form", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from(randomBytes(i));
    assert.deepEqual(huffmanDecode(huffmanEncode(bytes)), bytes);
  }
  assert.equal(toHex(huffmanEncode(new TextEncoder().encode("www.example.com"))), "f1e3c2e5f23a6ba0ab90f4ff");
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const fields: HeaderField[] = [
    ["content-type", "text/plain; charset=utf-8"],
    ["x-binary", "\u00ff\u00fe\u0001"],
    ["content-length", "123"],
  ];
  for (let round = 0; round < 3; round++) assert.deepEqual(decoder.decode(encoder.encode(fields)).fields, fields);
});

test("Huffman: EOS, over-long padding and padding that is not all ones are COMPRESSION_ERRORs", () => {
  // EOS is 30 ones: 0x3fffffff, here followed by padding.
  assert.throws(() => huffmanDecode(hex("ffffffff")), HpackError);
  // "a" is 00011 (5 bits); 8 more ones of padding is too long.
  assert.throws(() => huffmanDecode(hex("1fff")), HpackError);
  // "a" followed by padding 000 (not EOS bits).
  assert.throws(() => huffmanDecode(hex("18")), HpackError);
  assert.deepEqual(huffmanDecode(hex("1f")), new TextEncoder().encode("a"));
});

function refuses(block: string, options?: ConstructorParameters<typeof HpackDecoder>[0]) {
  const decoder = new HpackDecoder(options);
  assert.throws(
    () => decoder.decode(hex(block)),
    (error: unknown) => error instanceof HpackError && error.code === ErrorCode.COMPRESSION_ERROR,
    block,
  );
}

test("malformed blocks are COMPRESSION_ERRORs", () => {
  refuses("80"); // index 0
  refuses("be"); // index 62 with an empty dynamic table
  refuses("ff80808080808001"); // an integer far too large
  refuses("ff"); // a truncated integer
  refuses("4003616263"); // a literal whose value is missing
  refuses("400a6162"); // a name longer than the block
  refuses("3fe21f", { maxTableSize: 4096 }); // size update above the setting (4097)
  refuses("822a"); // size update after a field
  refuses("0083ffffff0161"); // EOS in a Huffman name
  refuses(`00 7f 49 ${"61".repeat(200)} 00`, { maxHeaderListSize: 64 * 1024, maxStringLength: 100 }); // string over the limit
});

test("HPACK bomb: a small block that references a large entry many times stops at the header list limit", () => {
  const decoder = new HpackDecoder({ maxHeaderListSize: 16 * 1024 });
  const encoder = new HpackEncoder({ index: () => true });
  const big = "x".repeat(4000);
  // One 4 kB entry, then 10 000 one-byte references to it: 40 MB if expanded.
  const first = encoder.encode([["x-bomb", big]]);
  assert.equal(decoder.decode(first).tooLarge, false);
  const bomb = new Uint8Array(10_000).fill(0xbe);
  const { fields, tooLarge } = decoder.decode(bomb);
  assert.equal(tooLarge, true);
  assert.ok(fields.length <= 4);
  // The table is intact: the next block decodes.
  assert.deepEqual(decoder.decode(hex("be")).fields, [["x-bomb", big]]);
});

test("the encoder announces a smaller table, evicts, and its output stays decodable", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const fields: HeaderField[] = Array.from({ length: 50 }, (_, i) => [`x-header-${i}`, `value ${i}`]);
  assert.deepEqual(decoder.decode(encoder.encode(fields)).fields, fields);
  encoder.setMaxTableSize(0);
  encoder.setMaxTableSize(256);
  const block = encoder.encode(fields);
  // Two updates: down to 0, then up to 256.
  assert.equal(toHex(block.subarray(0, 4)), "203fe101");
  assert.deepEqual(decoder.decode(block).fields, fields);
  assert.ok(decoder.table.size <= 256);
  assert.deepEqual(decoder.decode(encoder.encode(fields)).fields, fields);
});
