/**
 * Sec-WebSocket-Extensions parsing (RFC 6455 section 9.1) and permessage-deflate negotiation (RFC 7692).
 *
 * The compressor is the web `CompressionStream`, which cannot keep its window between messages or flush
 * without finishing, and every inflated message is a fresh `DecompressionStream`; so the response always
 * asks for no context takeover in both directions, which RFC 7692 lets a server do unasked (7.1.1.1, 7.1.1.2).
 */
import { TOKEN } from "../shared/token.js";

export interface PerMessageDeflateOptions {
  /** Messages shorter than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
}

export interface DeflateParameters {
  /** Messages up to this many bytes are compressed (the peer's window, 2^server_max_window_bits). */
  maxCompressedMessage: number;
  threshold: number;
}

export interface ExtensionOffer {
  name: string;
  params: Map<string, string | true>;
}

/** Parses an extension list; undefined when the header is malformed. */
export function parseExtensions(header: string): ExtensionOffer[] | undefined {
  const offers: ExtensionOffer[] = [];
  for (const element of splitOutsideQuotes(header, ",")) {
    if (element.trim() === "") continue;
    const [name = "", ...rawParams] = splitOutsideQuotes(element, ";").map((part) => part.trim());
    if (!TOKEN.test(name)) return undefined;
    const params = new Map<string, string | true>();
    for (const raw of rawParams) {
      const equals = raw.indexOf("=");
      const key = (equals < 0 ? raw : raw.slice(0, equals)).trim();
      if (!TOKEN.test(key)) return undefined;
      let value: string | true = true;
      if (equals >= 0) {
        value = raw.slice(equals + 1).trim();
        if (value.startsWith('"')) {
          if (value.length < 2 || !value.endsWith('"')) return undefined;
          value = value.slice(1, -1).replace(/\\(.)/g, "$1");
        }
        if (!TOKEN.test(value)) return undefined;
      }
      // A repeated parameter makes the whole offer invalid (RFC 7692 section 7); flag it for the caller.
      params.set(key, params.has(key) ? "\u0000duplicate" : value);
    }
    offers.push({ name: name.toLowerCase(), params });
  }
  return offers;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "\\" && quoted) i++;
    else if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/**
 * Accepts the first valid permessage-deflate offer: returns the response header value and the
 * parameters for this connection, or undefined when there is no acceptable offer.
 */
export function negotiatePerMessageDeflate(
  header: string | null,
  options: PerMessageDeflateOptions,
): { response: string; parameters: DeflateParameters } | undefined {
  if (!header) return undefined;
  const offers = parseExtensions(header);
  if (!offers) return undefined;
  for (const offer of offers) {
    if (offer.name !== "permessage-deflate") continue;
    let serverWindowBits: number | undefined;
    let valid = true;
    for (const [key, value] of offer.params) {
      if (key === "server_no_context_takeover" || key === "client_no_context_takeover") valid &&= value === true;
      else if (key === "server_max_window_bits") {
        valid &&= typeof value === "string" && WINDOW_BITS.test(value);
        serverWindowBits = Number(value);
      } else if (key === "client_max_window_bits") valid &&= value === true || WINDOW_BITS.test(value);
      else valid = false;
    }
    if (!valid) continue;
    let response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    if (serverWindowBits !== undefined) response += `; server_max_window_bits=${serverWindowBits}`;
    return {
      response,
      parameters: {
        // Our deflate uses a 32 KiB window, but a fresh stream never refers back further than its own
        // length: a message that fits a smaller peer window is safe to compress, longer ones go out plain.
        maxCompressedMessage: serverWindowBits === undefined || serverWindowBits === 15 ? Infinity : 2 ** serverWindowBits,
        threshold: options.threshold ?? 1024,
      },
    };
  }
  return undefined;
}
