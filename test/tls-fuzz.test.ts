/**
 * Seeded fuzzing of the TLS server's parsing, bounded as the other fuzz tests: mutated and truncated ClientHellos
 * either parse or fail with an alert (never another exception), and a server fed a valid hello and then random
 * records answers with an alert record and closes, whatever the records hold.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { concatAll } from "../src/shared/bytes.js";
import { TlsAlertError, TlsPeerAlertError } from "../src/tls/alert.js";
import { parseClientHello } from "../src/tls/client-hello.js";
import { TlsServerConnection } from "../src/tls/server-connection.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import { loadTlsCredentials } from "../src/tls/credentials.js";
import * as rfc from "./fixtures/rfc8448.js";
import { memorySocket } from "./fixtures/tls/memory-socket.js";

function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const kind = random() % 3;
  if (kind === 0) return bytes.subarray(0, random() % bytes.length);
  const out = bytes.slice();
  for (let i = 0, flips = 1 + (random() % 6); i < flips; i++) out[random() % out.length] = random() & 0xff;
  if (kind === 1) return out;
  const at = random() % out.length;
  return concatAll([out.subarray(0, at), Uint8Array.of(random() & 0xff, random() & 0xff), out.subarray(at)]);
}

test("3000 mutated ClientHellos: each parses or fails with a TLS alert", () => {
  const random = seeded(8446);
  const body = rfc.clientHello.subarray(4);
  let parsed = 0;
  let alerts = 0;
  for (let round = 0; round < 3000; round++) {
    const input = mutate(body, random);
    try {
      parseClientHello(input);
      parsed++;
    } catch (error) {
      assert.ok(error instanceof TlsAlertError, `round ${round}: ${String(error)}`);
      alerts++;
    }
  }
  // Both outcomes happen: the mutations reach past the first checks.
  assert.ok(parsed > 0 && alerts > 0, `parsed ${parsed}, alerts ${alerts}`);
});

test("after a valid ClientHello, random records end the handshake with an alert record and a close", async () => {
  const made = await createSelfSignedCertificate();
  const credentials = await loadTlsCredentials({ cert: made.certificatePem, key: made.privateKeyPem });
  const random = seeded(8448);
  for (let round = 0; round < 100; round++) {
    const socket = memorySocket();
    const connection = new TlsServerConnection(socket.io, { credentials });
    const handshake = connection.handshake();
    socket.push(concatAll([Uint8Array.of(22, 3, 1, 0, rfc.clientHello.length), rfc.clientHello]));
    const type = [20, 21, 22, 23, 24, random() & 0xff][random() % 6]!;
    const length = random() % 300;
    const body = Uint8Array.from({ length }, () => random() & 0xff);
    socket.push(concatAll([Uint8Array.of(type, 3, 3, length >> 8, length & 0xff), body]));
    socket.end();
    const error = await handshake.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    assert.ok(error instanceof TlsAlertError || error instanceof TlsPeerAlertError, `round ${round}: ${String(error)}`);
    assert.ok(socket.closed, `round ${round}: the socket is closed`);
    if (error instanceof TlsAlertError) {
      const last = socket.written.at(-1)!;
      // An alert after the ServerHello is protected: a record of type 23 (application_data) of 2 + 1 + 16 bytes.
      assert.ok(last[0] === 21 || (last[0] === 23 && last.length === 5 + 19), `round ${round}: the last record is an alert`);
    }
  }
});
