/**
 * Web bundles, format version b2 (draft-ietf-wpack-bundled-responses as Chromium reads it):
 *
 *   [ magic "🌐📦", version "b2\0\0", section-lengths (bstr holding [name, length, ...]),
 *     sections [ index {url => [offset, length]}, responses [[header-map bstr, body bstr], ...] ],
 *     length (8-byte big-endian total) ]
 *
 * Offsets in the index count from the start of the responses section. Several URLs may share one response.
 *
 * The writer is split in two so bodies never pass through an intermediate copy: `planWebBundle` computes the
 * exact layout from body lengths alone, `WebBundlePlan.writeFraming` fills in everything but the bodies and says
 * where each body goes; the caller then reads each file straight into its place.
 */

import { sameBytes } from "../shared/bytes.js";
import {
  CborError,
  CborReader,
  MajorType,
  MapKeyOrder,
  encodeArray,
  encodeBytes,
  encodeHead,
  encodeMap,
  encodeText,
  encodeUnsigned,
  headLength,
  writeHead,
} from "./cbor.js";

export const webBundleMagic = new Uint8Array([0xf0, 0x9f, 0x8c, 0x90, 0xf0, 0x9f, 0x93, 0xa6]);
const versionB2 = new Uint8Array([0x62, 0x32, 0x00, 0x00]);
const lengthFieldSize = 8;
// Chromium's limits (components/web_package): metadata sections (the index) up to 1 MiB, response
// header maps under 512 KiB.
const maxMetadataSectionLength = 1024 * 1024;
const maxHeaderMapLength = 512 * 1024;

export interface ExchangePlan {
  /** The URLs this response answers, e.g. "isolated-app://ID/dir/index.html" and "isolated-app://ID/dir/". */
  urls: readonly string[];
  status: number;
  /** Header names lowercase; no pseudo-headers (":status" is written from `status`). */
  headers: Readonly<Record<string, string>>;
  bodyLength: number;
}

export interface WebBundlePlan {
  /** Total length of the web bundle in bytes. */
  readonly length: number;
  /**
   * Writes the whole bundle except the bodies into `target` (exactly `length` bytes) and returns, for each
   * exchange in order, the offset in `target` where its body must be written.
   */
  writeFraming(target: Uint8Array): number[];
}

const textEncoder = new TextEncoder();

function encodeHeaderMap(status: number, headers: Readonly<Record<string, string>>): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error(`invalid status ${status}`);
  const entries: [Uint8Array, Uint8Array][] = [
    [encodeBytes(textEncoder.encode(":status")), encodeBytes(textEncoder.encode(String(status)))],
  ];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || name !== name.toLowerCase()) throw new Error(`invalid header name "${name}"`);
    entries.push([encodeBytes(textEncoder.encode(name)), encodeBytes(textEncoder.encode(value))]);
  }
  const headerMap = encodeMap(entries);
  if (headerMap.length >= maxHeaderMapLength)
    throw new Error(`response headers take ${headerMap.length} bytes; Chromium reads less than ${maxHeaderMapLength}`);
  return headerMap;
}

export function planWebBundle(exchanges: readonly ExchangePlan[]): WebBundlePlan {
  const headerMaps = exchanges.map((exchange) => {
    if (exchange.bodyLength > 0 && !("content-type" in exchange.headers)) {
      throw new Error(`${exchange.urls[0]} has a body but no content-type header`);
    }
    return encodeHeaderMap(exchange.status, exchange.headers);
  });
  const responseLengths = exchanges.map(
    (exchange, i) => 1 + headLength(headerMaps[i]!.length) + headerMaps[i]!.length + headLength(exchange.bodyLength) + exchange.bodyLength,
  );

  const indexEntries: [Uint8Array, Uint8Array][] = [];
  let responseOffset = headLength(exchanges.length);
  exchanges.forEach((exchange, i) => {
    const location = encodeArray([encodeUnsigned(responseOffset), encodeUnsigned(responseLengths[i]!)]);
    for (const url of exchange.urls) indexEntries.push([encodeText(url), location]);
    responseOffset += responseLengths[i]!;
  });
  const index = encodeMap(indexEntries);
  if (index.length > maxMetadataSectionLength) {
    throw new Error(
      `the index of ${indexEntries.length} URLs takes ${index.length} bytes; Chromium reads at most ${maxMetadataSectionLength}`,
    );
  }
  const responsesLength = responseOffset;

  const sectionLengths = encodeArray([
    encodeText("index"),
    encodeUnsigned(index.length),
    encodeText("responses"),
    encodeUnsigned(responsesLength),
  ]);
  const prefix = [
    encodeHead(MajorType.Array, 5),
    encodeBytes(webBundleMagic),
    encodeBytes(versionB2),
    encodeBytes(sectionLengths),
    encodeHead(MajorType.Array, 2),
    index,
  ];
  const prefixLength = prefix.reduce((sum, part) => sum + part.length, 0);
  const length = prefixLength + responsesLength + 1 + lengthFieldSize;

  return {
    length,
    writeFraming(target) {
      if (target.length !== length) throw new Error(`web bundle target must be ${length} bytes, got ${target.length}`);
      let offset = 0;
      for (const part of prefix) {
        target.set(part, offset);
        offset += part.length;
      }
      offset = writeHead(target, offset, MajorType.Array, exchanges.length);
      const bodyOffsets = exchanges.map((exchange, i) => {
        offset = writeHead(target, offset, MajorType.Array, 2);
        offset = writeHead(target, offset, MajorType.Bytes, headerMaps[i]!.length);
        target.set(headerMaps[i]!, offset);
        offset += headerMaps[i]!.length;
        offset = writeHead(target, offset, MajorType.Bytes, exchange.bodyLength);
        const bodyOffset = offset;
        offset += exchange.bodyLength;
        return bodyOffset;
      });
      offset = writeHead(target, offset, MajorType.Bytes, lengthFieldSize);
      const view = new DataView(target.buffer, target.byteOffset + offset, lengthFieldSize);
      view.setUint32(0, Math.floor(length / 0x100000000));
      view.setUint32(4, length % 0x100000000);
      return bodyOffsets;
    },
  };
}

// --- Reader ---

export interface BundleResponse {
  status: number;
  /** Header names lowercase. */
  headers: Record<string, string>;
  /** A view into the bundle's bytes. */
  body: Uint8Array;
}

export interface ParsedWebBundle {
  /** The primary URL section, if any (Isolated Web Apps must not have one). */
  primaryUrl: string | null;
  /** Every URL in the index with its response, in index order. */
  responses: Map<string, BundleResponse>;
}

const knownSections = new Set(["index", "responses", "primary", "critical"]);
const textDecoder = new TextDecoder("utf-8", { fatal: true });

function utf8(bytes: Uint8Array, what: string): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new CborError(`${what} holds text that is not UTF-8`);
  }
}

function decodeHeaderMap(bytes: Uint8Array, url: string): { status: number; headers: Record<string, string> } {
  const reader = new CborReader(bytes);
  const what = `header map of ${url}`;
  const count = reader.readMapLength(what);
  const order = new MapKeyOrder(what, false);
  const headers: [string, string][] = [];
  let status: number | undefined;
  for (let i = 0; i < count; i++) {
    const keyStart = reader.offset;
    const name = utf8(reader.readBytes(what), what);
    order.check(reader, keyStart, name);
    const value = utf8(reader.readBytes(what), what);
    if (name === ":status") {
      if (!/^[1-9][0-9]{2}$/.test(value)) throw new CborError(`${what} has an invalid :status "${value}"`);
      status = Number(value);
    } else if (name.startsWith(":")) {
      throw new CborError(`${what} has an unknown pseudo-header ${name}`);
    } else {
      headers.push([name, value]);
    }
  }
  if (!reader.atEnd) throw new CborError(`${what} has trailing bytes`);
  if (status === undefined) throw new CborError(`${what} has no :status`);
  // fromEntries defines own properties, so even a header named "__proto__" stays a plain header.
  return { status, headers: Object.fromEntries(headers) };
}

/**
 * Parses a b2 web bundle. Every index entry is resolved and its response decoded; any structural problem throws
 * an Error with a one-line message. Bodies are views into `bytes`.
 */
export function parseWebBundle(bytes: Uint8Array): ParsedWebBundle {
  const reader = new CborReader(bytes);
  if (reader.readArrayLength("web bundle") !== 5) throw new CborError("web bundle is not a 5-element array (format b2)");
  if (!sameBytes(reader.readBytes("web bundle magic"), webBundleMagic)) throw new CborError("web bundle magic is wrong");
  const version = reader.readBytes("web bundle version");
  if (!sameBytes(version, versionB2)) {
    throw new CborError(`unsupported web bundle version "${utf8(version, "version").replace(/\0+$/, "")}" (only b2)`);
  }

  const lengthsReader = new CborReader(reader.readBytes("section lengths"));
  const lengthsCount = lengthsReader.readArrayLength("section lengths");
  if (lengthsCount % 2 !== 0) throw new CborError("section lengths must be name/length pairs");
  const declared: { name: string; length: number }[] = [];
  for (let i = 0; i < lengthsCount; i += 2) {
    const name = lengthsReader.readText("section name");
    if (declared.some((section) => section.name === name)) throw new CborError(`section "${name}" appears twice`);
    declared.push({ name, length: lengthsReader.readUnsigned(`length of section ${name}`) });
  }
  if (!lengthsReader.atEnd) throw new CborError("section lengths have trailing bytes");

  if (reader.readArrayLength("sections") !== declared.length) {
    throw new CborError("the number of sections differs from the section lengths");
  }
  const sections = new Map<string, { start: number; end: number }>();
  for (const { name, length } of declared) {
    if (name !== "responses" && length > maxMetadataSectionLength)
      throw new CborError(`section "${name}" is larger than ${maxMetadataSectionLength} bytes`);
    const start = reader.offset;
    reader.skip(`section ${name}`);
    if (reader.offset - start !== length) throw new CborError(`section "${name}" is not ${length} bytes long`);
    sections.set(name, { start, end: reader.offset });
  }

  const trailer = reader.readBytes("web bundle length");
  if (trailer.length !== lengthFieldSize || !reader.atEnd) throw new CborError("web bundle does not end with its 8-byte length");
  const trailerView = new DataView(trailer.buffer, trailer.byteOffset, lengthFieldSize);
  const declaredLength = trailerView.getUint32(0) * 0x100000000 + trailerView.getUint32(4);
  if (declaredLength !== bytes.length) {
    throw new CborError(`web bundle length field says ${declaredLength} bytes, the bundle has ${bytes.length}`);
  }

  const critical = sections.get("critical");
  if (critical) {
    const criticalReader = new CborReader(bytes, critical.start);
    const count = criticalReader.readArrayLength("critical section");
    for (let i = 0; i < count; i++) {
      const name = criticalReader.readText("critical section name");
      if (!knownSections.has(name)) throw new CborError(`section "${name}" is marked critical but is not understood`);
    }
  }

  const primary = sections.get("primary");
  const primaryUrl = primary ? new CborReader(bytes, primary.start).readText("primary URL") : null;

  const index = sections.get("index");
  const responsesSection = sections.get("responses");
  if (!index || !responsesSection) throw new CborError("web bundle lacks an index or responses section");
  const responsesReader = new CborReader(bytes, responsesSection.start);
  responsesReader.readArrayLength("responses section");

  const responses = new Map<string, BundleResponse>();
  const indexReader = new CborReader(bytes, index.start);
  const count = indexReader.readMapLength("index");
  const order = new MapKeyOrder("index", false);
  for (let i = 0; i < count; i++) {
    const keyStart = indexReader.offset;
    const url = indexReader.readText("index URL");
    order.check(indexReader, keyStart, url);
    if (indexReader.readArrayLength(`index entry of ${url}`) !== 2) throw new CborError(`index entry of ${url} is not [offset, length]`);
    const offset = indexReader.readUnsigned(`offset of ${url}`);
    const length = indexReader.readUnsigned(`length of ${url}`);
    const start = responsesSection.start + offset;
    if (offset === 0 || length === 0 || start + length > responsesSection.end) {
      throw new CborError(`index entry of ${url} points outside the responses section`);
    }
    const itemReader = new CborReader(bytes.subarray(0, start + length), start);
    if (itemReader.readArrayLength(`response of ${url}`) !== 2) throw new CborError(`response of ${url} is not [headers, body]`);
    const headerMap = itemReader.readBytes(`header map of ${url}`);
    if (headerMap.length >= maxHeaderMapLength) throw new CborError(`header map of ${url} is too large (${headerMap.length} bytes)`);
    const { status, headers } = decodeHeaderMap(headerMap, url);
    const body = itemReader.readBytes(`body of ${url}`);
    if (body.length > 0 && !("content-type" in headers)) throw new CborError(`response of ${url} has a body but no content-type`);
    if (!itemReader.atEnd) throw new CborError(`index length of ${url} does not match its response`);
    responses.set(url, { status, headers, body });
  }
  return { primaryUrl, responses };
}
