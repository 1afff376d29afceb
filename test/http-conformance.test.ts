/**
 * Conformance against llhttp's request-parsing corpus (test/fixtures/http/llhttp/, nodejs/llhttp 9.4.2,
 * MIT): every case is sent over a raw node:net socket to serve() on the Node adapter, and the server's
 * accept/reject decisions must match llhttp's strict-mode verdicts, message by message.
 *
 * Which cases apply: those whose meta type is `request` (llhttp runs them in strict and loose mode with
 * the same expectations) and `request-finish` (input followed by `llhttp_finish()`, i.e. our end of the
 * connection). Skipped: every `request-lenient-*` type (they switch on llhttp leniency flags this server
 * does not have: lenient-version.md is therefore not copied, and the lenient cases of the other files are
 * ignored) and `skipBody` cases (the application tells llhttp a message has no body, as for responses to HEAD;
 * it has no meaning for requests).
 *
 * How a verdict maps to the wire: each message llhttp completed must get a 200 that reports the same body
 * length; then, after an error, one 4xx/5xx and a close; after "Data after `Connection: close`", a close
 * without another response; after a pause (CONNECT/Upgrade/PRI hand the connection to another protocol) the
 * input is cut at the pause, as the bytes after it are not HTTP; when llhttp was left waiting for more input,
 * our end of the connection may draw a 400 saying the connection closed, or nothing.
 *
 * llhttp leaves Host checks to the application; this server requires Host in HTTP/1.1 (RFC 9112 §3.2), so a
 * `Host: llhttp.test` field is added to HTTP/1.1 requests that have none, right after the request line.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Server } from "../src/index.js";
import { exchange, header, projectRoot, startServer, stopServer, type WireResponse } from "./fixtures/http/harness.js";
import { loadLlhttpCases, type LlhttpCase } from "./fixtures/http/llhttp.js";

const FIXTURES = join(projectRoot, "test", "fixtures", "http", "llhttp");
const PAUSE_CODES = new Set([22, 23]);
const DATA_AFTER_CLOSE = 5;

/** Where this server decides differently from llhttp on purpose, and why. Keyed by "file: heading". */
const DELIBERATE_DIFFERENCES: Record<string, { ours: "refuse" | "accept"; reason: string }> = {
  "sample.md: No HTTP version": { ours: "refuse", reason: "HTTP/0.9 simple requests are not served: only HTTP/1.x (RFC 9112 §2.3)" },
  "method.md: SOURCE request with ICE": { ours: "refuse", reason: "llhttp also parses ICE; this is an HTTP server" },
  "method.md: OPTIONS request with RTSP": { ours: "refuse", reason: "llhttp also parses RTSP; this is an HTTP server" },
  "method.md: ANNOUNCE request with RTSP": { ours: "refuse", reason: "llhttp also parses RTSP; this is an HTTP server" },
  "invalid.md: Invalid method": { ours: "accept", reason: "any token is a method (RFC 9110 §9.1); llhttp knows a fixed list" },
  "invalid.md: HTTP protocol and ANNOUNCE method": {
    ours: "accept",
    reason: "any token is a method (RFC 9110 §9.1); llhttp knows a fixed list",
  },
  "method.md: CONNECT request": { ours: "refuse", reason: "not a proxy: CONNECT is refused" },
  "method.md: CONNECT request with CAPS": { ours: "refuse", reason: "not a proxy: CONNECT is refused" },
  "method.md: CONNECT with body": { ours: "refuse", reason: "not a proxy: CONNECT is refused" },
  "uri.md: Underscore in hostname": { ours: "refuse", reason: "not a proxy: CONNECT is refused" },
  "method.md: PRI request HTTP2": { ours: "refuse", reason: "llhttp pauses to hand over to HTTP/2; there is no HTTP/2 here" },
  "method.md: M-SEARCH request": { ours: "refuse", reason: "asterisk-form is for OPTIONS only (RFC 9112 §3.2.4)" },
  "uri.md: `host:port` and basic auth": { ours: "refuse", reason: "userinfo in an http URI is treated as an error (RFC 9110 §4.2.4)" },
  "transfer-encoding.md: Chunk header not terminated by CRLF": {
    ours: "accept",
    reason:
      "a GET's body is never the handler's: the request is answered first, then the body skipped; errors in it only close the connection (here it closes anyway)",
  },
  "transfer-encoding.md: Chunk data not terminated by CRLF": {
    ours: "accept",
    reason:
      "a GET's body is never the handler's: the request is answered first, then the body skipped; errors in it only close the connection (here it closes anyway)",
  },
  "transfer-encoding.md: POST with `chunked` as last transfer-encoding": {
    ours: "refuse",
    reason: "codings other than chunked are not implemented: 501 (RFC 9112 §6.1)",
  },
  "transfer-encoding.md: POST with `chunked` as last transfer-encoding (multiple headers)": {
    ours: "refuse",
    reason: "codings other than chunked are not implemented: 501 (RFC 9112 §6.1)",
  },
};

const keyOf = (testCase: LlhttpCase) => `${testCase.file}: ${testCase.heading}`;

function applies(testCase: LlhttpCase): boolean {
  return (testCase.type === "request" || testCase.type === "request-finish") && testCase.meta.skipBody !== true;
}

/** The bytes to send: cut at a pause, with Host added to HTTP/1.1 requests that lack it. */
function wireInput(testCase: LlhttpCase): Buffer {
  const { error, messages } = testCase.verdict;
  let bytes = error && PAUSE_CODES.has(error.code) ? testCase.input.subarray(0, error.offset) : testCase.input;
  for (const message of [...messages].reverse()) {
    let start = message.begin;
    while (bytes[start] === 13 && bytes[start + 1] === 10) start += 2;
    const lineEnd = bytes.indexOf("\r\n", start);
    if (start >= bytes.length || lineEnd === -1) continue;
    if (!/^[^ ]+ [^ ]+ HTTP\/1\.1$/.test(bytes.subarray(start, lineEnd).toString("latin1"))) continue;
    const headEnd = bytes.indexOf("\r\n\r\n", lineEnd);
    const head = bytes.subarray(lineEnd, headEnd === -1 ? bytes.length : headEnd + 2).toString("latin1");
    if (/\r\nhost[ \t]*:/i.test(head)) continue;
    bytes = Buffer.concat([bytes.subarray(0, lineEnd), Buffer.from("\r\nHost: llhttp.test"), bytes.subarray(lineEnd)]);
  }
  return bytes;
}

const isRefusal = (response: WireResponse) => response.status >= 400 && header(response, "connection") === "close";
const describeResponses = (responses: WireResponse[]) =>
  responses
    .map(
      (response) =>
        `${response.status} ${response.status >= 400 ? JSON.stringify(response.body.toString().trim()) : header(response, "x-body-length")}`,
    )
    .join(" | ");

/** Asserts that the responses match llhttp's verdict on the case. */
function checkAgreement(testCase: LlhttpCase, responses: WireResponse[]): void {
  const { error, finish, messages } = testCase.verdict;
  const completed = messages.filter((message) => message.complete);
  const what = `${keyOf(testCase)} (line ${testCase.line}): got ${describeResponses(responses)}`;
  assert.ok(responses.length >= completed.length, `${what}: expected ${completed.length} accepted message(s)`);
  completed.forEach((message, i) => {
    assert.equal(responses[i]!.status, 200, `${what}: message ${i + 1} should be accepted`);
    const length = header(responses[i]!, "x-body-length");
    if (length !== "skipped") assert.equal(length, String(message.bodyLength), `${what}: body length of message ${i + 1}`);
  });
  const rest = responses.slice(completed.length);
  if (error && !PAUSE_CODES.has(error.code) && error.code !== DATA_AFTER_CLOSE) {
    assert.equal(rest.length, 1, `${what}: llhttp refuses (${error.reason}); expected one refusal`);
    assert.ok(isRefusal(rest[0]!), `${what}: llhttp refuses (${error.reason})`);
  } else if (finish !== undefined && finish !== 0) {
    assert.equal(rest.length, 1, `${what}: ending the input here is an error for llhttp; expected one refusal`);
    assert.ok(isRefusal(rest[0]!), what);
  } else if (error) {
    assert.equal(rest.length, 0, `${what}: nothing after ${error.reason}`);
  } else {
    // llhttp accepted everything it saw; an unfinished last message may draw a 400 when we end the connection.
    assert.ok(rest.length <= 1, what);
    if (rest.length === 1) {
      assert.equal(rest[0]!.status, 400, what);
      assert.match(rest[0]!.body.toString(), /connection closed/, `${what}: only the end of input may be refused`);
    }
  }
}

describe("conformance with llhttp's request corpus (strict mode)", { timeout: 120_000 }, () => {
  const cases = loadLlhttpCases(FIXTURES);
  const applicable = cases.filter(applies);
  let server: Server;

  before(async () => {
    server = await startServer(async (request) => {
      const body = request.body ? await request.arrayBuffer() : new ArrayBuffer(0);
      // GET and HEAD Requests cannot carry a body; the server skips it, so its length is not known here.
      const length = request.method === "GET" || request.method === "HEAD" ? "skipped" : String(body.byteLength);
      return new Response(null, { headers: { "x-body-length": length } });
    });
  });
  after(() => stopServer(server));

  it("reads the corpus", (t) => {
    assert.ok(applicable.length >= 120, `${applicable.length} applicable cases`);
    t.diagnostic(`${cases.length} cases in the corpus, ${applicable.length} apply (strict request / request-finish)`);
    const keys = new Set(applicable.map(keyOf));
    for (const key of Object.keys(DELIBERATE_DIFFERENCES)) assert.ok(keys.has(key), `listed difference '${key}' is not in the corpus`);
  });

  for (const testCase of applicable) {
    const difference = DELIBERATE_DIFFERENCES[keyOf(testCase)];
    const title = `${keyOf(testCase)}${difference ? ` — differs on purpose: ${difference.reason}` : ""}`;
    it(title, async () => {
      const responses = await exchange(server.port, wireInput(testCase));
      if (!difference) return checkAgreement(testCase, responses);
      const what = `${keyOf(testCase)}: got ${describeResponses(responses)}`;
      assert.ok(responses.length >= 1, what);
      if (difference.ours === "refuse") assert.ok(isRefusal(responses[0]!), `${what}: we refuse this`);
      else assert.equal(responses[0]!.status, 200, `${what}: we accept this`);
    });
  }
});
