/**
 * Headers kept as a list of field lines (names in lower case, values trimmed) until something needs the runtime's
 * Headers whole: get(), has(), set(), append(), delete() and getSetCookie() work on the lines; iteration fills the
 * runtime's Headers and answers from it from then on. The server writes the lines as they are.
 *
 * A request's headers come as the parser's lines; a FastResponse's from its init, checked as Headers would check
 * them. Building the runtime's Headers costs about 1 µs on Node and several in Chromium, and most handlers only ask
 * for a name or two, or add one.
 */
import { TOKEN } from "../shared/token.js";

/** A value's leading and trailing HTTP whitespace, which Headers strips. */
const OUTER_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

export type Line = [string, string];

/** Tab, LF, CR or space (NaN, for an empty value's missing character, is none). */
function isHttpWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * Header names already checked, as given, with their lower-case form: handlers and middleware ask for the same
 * few names on every request, and a map lookup costs a fraction of the check. Bounded: cleared when full.
 */
const checkedNames = new Map<string, string>();
const MAX_CHECKED_NAMES = 512;

function checkedName(name: string): string {
  const known = checkedNames.get(name);
  if (known !== undefined) return known;
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`invalid header name: ${JSON.stringify(text)}`);
  const lower = text.toLowerCase();
  if (typeof name === "string") {
    if (checkedNames.size === MAX_CHECKED_NAMES) checkedNames.clear();
    checkedNames.set(name, lower);
  }
  return lower;
}

function checkedValue(value: string): string {
  let text = String(value);
  if (isHttpWhitespace(text.charCodeAt(0)) || isHttpWhitespace(text.charCodeAt(text.length - 1))) text = text.replace(OUTER_WHITESPACE, "");
  // No NUL, CR, LF, or character outside ISO-8859-1 (a ByteString's range). A loop rather than a regular
  // expression: cheaper on a cold request path.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0 || code === 0x0a || code === 0x0d || code > 0xff) throw new TypeError(`invalid header value: ${JSON.stringify(text)}`);
  }
  return text;
}

/** The lines of a HeadersInit, checked and normalized as the runtime's Headers constructor does. */
function linesOf(init: HeadersInit): Line[] {
  const kept = init instanceof Headers ? LineHeaders.linesOf(init) : undefined;
  if (kept) return kept.map(([name, value]) => [name, value]);
  const pairs: Iterable<unknown> | undefined =
    typeof (init as Iterable<unknown>)[Symbol.iterator] === "function" ? (init as Iterable<unknown>) : undefined;
  const lines: Line[] = [];
  if (pairs) {
    for (const pair of pairs) {
      const [name, value, ...rest] = pair as string[];
      if (value === undefined || rest.length > 0) throw new TypeError("a header must be a [name, value] pair");
      lines.push([checkedName(name!), checkedValue(value)]);
    }
  } else if (typeof init === "object" && init !== null) {
    for (const name of Object.keys(init)) lines.push([checkedName(name), checkedValue((init as Record<string, string>)[name]!)]);
  } else {
    throw new TypeError("headers must be an object or a list of [name, value] pairs");
  }
  return lines;
}

/**
 * The value `Headers.get(name)` gives for field lines and a lower-case `name`: several lines of one name read as one
 * value joined by ", ".
 */
export function fieldValue(lines: ReadonlyArray<Readonly<Line>>, name: string): string | null {
  let value: string | null = null;
  for (const [lineName, lineValue] of lines) {
    if (lineName === name) value = value === null ? lineValue : `${value}, ${lineValue}`;
  }
  return value;
}

export class LineHeaders extends Headers {
  /** The lines not yet copied into the Headers itself; undefined once they are. */
  #lines: Line[] | undefined;
  /** The lines are the caller's array (fromLines): copied before the first append. */
  #borrowed = false;

  constructor() {
    super();
    this.#lines = [];
  }

  /** Headers over lines already in the form Headers keeps (the parser's): not checked again, and never changed. */
  static fromLines(lines: Line[]): LineHeaders {
    const headers = new LineHeaders();
    headers.#lines = lines;
    headers.#borrowed = true;
    return headers;
  }

  /** Headers that take over `lines`, already checked; the caller no longer uses the array. */
  static adopting(lines: Line[]): LineHeaders {
    const headers = new LineHeaders();
    headers.#lines = lines;
    return headers;
  }

  /** The lines of `headers` while it still keeps them (for the server to write), else undefined. */
  static linesOf(headers: Headers): ReadonlyArray<Readonly<Line>> | undefined {
    return #lines in headers ? headers.#lines : undefined;
  }

  #fill(): void {
    const lines = this.#lines;
    if (!lines) return;
    this.#lines = undefined;
    for (const [name, value] of lines) super.append(name, value);
  }

  override get(name: string): string | null {
    if (!this.#lines) return super.get(name);
    return fieldValue(this.#lines, checkedName(name));
  }

  override has(name: string): boolean {
    if (!this.#lines) return super.has(name);
    const wanted = checkedName(name);
    for (const line of this.#lines) if (line[0] === wanted) return true;
    return false;
  }

  override append(name: string, value: string): void {
    if (!this.#lines) {
      super.append(name, value);
      return;
    }
    const line: Line = [checkedName(name), checkedValue(value)];
    if (this.#borrowed) {
      this.#lines = this.#lines.slice();
      this.#borrowed = false;
    }
    this.#lines.push(line);
  }

  override set(name: string, value: string): void {
    if (!this.#lines) {
      super.set(name, value);
      return;
    }
    const line: Line = [checkedName(name), checkedValue(value)];
    this.#lines = this.#lines.filter(([lineName]) => lineName !== line[0]);
    this.#borrowed = false;
    this.#lines.push(line);
  }

  override delete(name: string): void {
    if (!this.#lines) {
      super.delete(name);
      return;
    }
    const wanted = checkedName(name);
    this.#lines = this.#lines.filter(([lineName]) => lineName !== wanted);
  }

  override getSetCookie(): string[] {
    if (!this.#lines) return super.getSetCookie();
    return this.#lines.filter(([name]) => name === "set-cookie").map(([, value]) => value);
  }

  override forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#fill();
    super.forEach(callback, thisArg);
  }

  override entries(): HeadersIterator<[string, string]> {
    this.#fill();
    return super.entries();
  }

  override keys(): HeadersIterator<string> {
    this.#fill();
    return super.keys();
  }

  override values(): HeadersIterator<string> {
    this.#fill();
    return super.values();
  }

  override [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * Whether a Headers made from a LineHeaders gets its lines: runtimes that copy another Headers' storage directly
 * (Bun) would see it empty before it is filled. There the runtime's Headers is used.
 */
const copiedFaithfully = new Headers(LineHeaders.fromLines([["probe", "1"]])).get("probe") === "1";

/** The Headers of a request's parsed field lines. */
export function requestHeaders(lines: Line[]): Headers {
  return copiedFaithfully ? LineHeaders.fromLines(lines) : new Headers(lines);
}

/** The Headers of a response made in memory, from its init. */
export function responseHeaders(init: HeadersInit | undefined): Headers {
  return headersOver(fieldLines(init));
}

/** The lines a Headers made from `init` would hold, checked as its constructor checks them; a new array. */
export function fieldLines(init: HeadersInit | null | undefined): Line[] {
  return init === undefined || init === null ? [] : linesOf(init);
}

/** A Headers over checked lines that the caller hands over (it no longer uses the array). */
export function headersOver(lines: Line[]): Headers {
  return copiedFaithfully ? LineHeaders.adopting(lines) : new Headers(lines);
}

/** A checked field line, as `Headers.append(name, value)` would add it. */
export function checkedLine(name: string, value: string): Line {
  return [checkedName(name), checkedValue(value)];
}
