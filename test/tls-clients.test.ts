/**
 * The TLS 1.3 server on Node against real TLS stacks: OpenSSL (`openssl s_client`, curl, Node's https/tls/fetch,
 * the `ws` client over wss://) and GnuTLS (`gnutls-cli`). Every suite and group, a HelloRetryRequest, KeyUpdate,
 * ALPN, the refusal of TLS 1.2, and hostile input that must end in an alert while others are still served.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as https from "node:https";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { serve, type Server } from "../src/index.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import * as rfc from "./fixtures/rfc8448.js";
import { missingClients } from "./fixtures/clients.js";

let server: Server;
let dir: string;
let certFile: string;
let ca: string;
let origin: string;

before(async () => {
  const credentials = await createSelfSignedCertificate();
  ca = credentials.certificatePem;
  dir = await mkdtemp(join(tmpdir(), "tls-clients-"));
  certFile = join(dir, "cert.pem");
  await writeFile(certFile, ca);
  server = serve({
    port: 0,
    tls: { cert: credentials.certificatePem, key: credentials.privateKeyPem, handshakeTimeout: 1_000 },
    websocket: { message: (ws, message) => ws.send(message) },
    async fetch(request, info) {
      if (new URL(request.url).pathname === "/ws" && info.server.upgrade(request)) return undefined;
      if (request.method === "POST") return new Response(await request.arrayBuffer());
      return new Response(`hello ${request.url}\n`);
    },
  });
  await server.ready();
  origin = `https://127.0.0.1:${server.port}`;
});

after(async () => {
  await server.close(true);
  await rm(dir, { recursive: true, force: true });
});

interface Output {
  code: number | null;
  text: string;
}

/**
 * Runs a client with `input` on stdin (each piece written after a short pause; stdin held open `holdMs` more),
 * stdout and stderr together, bounded in time.
 */
function run(command: string, args: string[], input: string[] = [], timeoutMs = 15_000, holdMs = 0): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk) => (text += chunk));
    child.stderr.on("data", (chunk) => (text += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
    (async () => {
      for (const piece of input) {
        await new Promise((next) => setTimeout(next, 200));
        child.stdin.write(piece);
      }
      await new Promise((next) => setTimeout(next, holdMs));
      child.stdin.end();
    })().catch(() => {});
  });
}

const REQUEST = "GET /path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

function sClient(...args: string[]): Promise<Output> {
  return run(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${server.port}`, "-servername", "localhost", "-CAfile", certFile, "-ign_eof", "-msg", ...args],
    [REQUEST],
  );
}

for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]) {
  for (const group of ["X25519", "P-256"]) {
    test(`openssl s_client: ${suite} with ${group}`, { skip: missingClients("openssl") }, async () => {
      const { text } = await sClient("-tls1_3", "-ciphersuites", suite, "-groups", group);
      assert.match(text, new RegExp(`New, TLSv1.3, Cipher is ${suite}`));
      assert.match(text, /Verify return code: 0 \(ok\)/);
      assert.match(text, /hello https:\/\/localhost\/path/);
      assert.match(text, group === "X25519" ? /Server Temp Key: X25519/ : /Server Temp Key: ECDH, prime256v1/);
    });
  }
}

test("openssl s_client: a key share in a group the server lacks gets a HelloRetryRequest, then the handshake completes", {
  skip: missingClients("openssl"),
}, async () => {
  const { text } = await sClient("-tls1_3", "-groups", "P-384:P-256");
  assert.equal(text.match(/<<< TLS 1.3, Handshake \[length [0-9a-f]+\], ServerHello/g)?.length, 2);
  assert.match(text, /Server Temp Key: ECDH, prime256v1/);
  assert.match(text, /hello https:\/\/localhost\/path/);
});

test("openssl s_client: a KeyUpdate asking for one is answered, and the request after it is served under the new keys", {
  skip: missingClients("openssl"),
}, async () => {
  const { text } = await run(
    "openssl",
    // Interactive mode (no -ign_eof), where s_client reads "K" as its KeyUpdate command; stdin stays open for the answer.
    ["s_client", "-connect", `127.0.0.1:${server.port}`, "-CAfile", certFile, "-msg", "-tls1_3"],
    ["K\n", REQUEST],
    15_000,
    1_500,
  );
  assert.equal(text.match(/KeyUpdate/g)?.length, 2, "one KeyUpdate each way");
  assert.match(text, /hello https:\/\/localhost\/path/);
});

test("the server moves to a new key (KeyUpdate) every keyUpdateAfterRecords records, and the client reads on", {
  skip: missingClients("openssl"),
}, async () => {
  const credentials = await createSelfSignedCertificate();
  const rotating = serve({
    port: 0,
    tls: { cert: credentials.certificatePem, key: credentials.privateKeyPem, keyUpdateAfterRecords: 4 },
    fetch: () => new Response(`${"x".repeat(200_000)}end\n`),
  });
  await rotating.ready();
  try {
    const { text } = await run("openssl", ["s_client", "-connect", `127.0.0.1:${rotating.port}`, "-ign_eof", "-msg", "-tls1_3"], [REQUEST]);
    // 200 kB is 13 records of 16 KiB: a KeyUpdate after every 4.
    assert.ok((text.match(/<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate/g)?.length ?? 0) >= 2, text.slice(-2000));
    assert.match(text, /x{1000}end\n/);
  } finally {
    await rotating.close(true);
  }
});

test('engine "web-crypto" (Web Crypto on Node too) serves the same: curl GET and a 1 MiB POST, both suites with openssl', {
  skip: missingClients("curl", "openssl"),
}, async () => {
  const credentials = await createSelfSignedCertificate();
  const webOnly = serve({
    port: 0,
    tls: { cert: credentials.certificatePem, key: credentials.privateKeyPem, engine: "web-crypto" },
    fetch: async (request) => new Response(request.method === "POST" ? await request.arrayBuffer() : "web crypto\n"),
  });
  await webOnly.ready();
  try {
    const get = await run("curl", ["-sS", "--max-time", "20", "-k", `https://127.0.0.1:${webOnly.port}/`]);
    assert.equal(get.text, "web crypto\n");
    const upload = join(dir, "web-upload.bin");
    const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) & 0xff);
    await writeFile(upload, body);
    const echoed = join(dir, "web-echoed.bin");
    const post = await run("curl", [
      "-sS",
      "--max-time",
      "30",
      "-k",
      "--data-binary",
      `@${upload}`,
      "-o",
      echoed,
      `https://127.0.0.1:${webOnly.port}/`,
    ]);
    assert.equal(post.code, 0, post.text);
    const { readFile } = await import("node:fs/promises");
    assert.deepEqual(new Uint8Array(await readFile(echoed)), body);
    for (const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]) {
      const { text } = await run(
        "openssl",
        ["s_client", "-connect", `127.0.0.1:${webOnly.port}`, "-tls1_3", "-ciphersuites", suite, "-ign_eof"],
        [REQUEST],
      );
      assert.match(text, new RegExp(`Cipher is ${suite}`));
      assert.match(text, /web crypto/);
    }
  } finally {
    await webOnly.close(true);
  }
});

test("a TLS 1.2-only client is refused with a protocol_version alert", { skip: missingClients("openssl") }, async () => {
  const { text } = await run("openssl", ["s_client", "-connect", `127.0.0.1:${server.port}`, "-tls1_2"]);
  assert.match(text, /alert protocol version/);
});

test("a client whose only suite is one the server lacks gets handshake_failure", { skip: missingClients("openssl") }, async () => {
  const { text } = await sClient("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256");
  assert.match(text, /alert handshake failure/);
});

test("curl --cacert: GET, and POST of 10 MiB echoed intact", { skip: missingClients("curl") }, async () => {
  const get = await run("curl", ["-sS", "--max-time", "20", "--cacert", certFile, `https://localhost:${server.port}/c`]);
  assert.equal(get.text, `hello https://localhost:${server.port}/c\n`);
  const body = new Uint8Array(10 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 65536) crypto.getRandomValues(body.subarray(i, i + 65536));
  const upload = join(dir, "upload.bin");
  await writeFile(upload, body);
  const echoed = join(dir, "echoed.bin");
  const post = await run("curl", [
    "-sS",
    "--max-time",
    "60",
    "--cacert",
    certFile,
    "--data-binary",
    `@${upload}`,
    "-o",
    echoed,
    `${origin}/echo`,
  ]);
  assert.equal(post.code, 0, post.text);
  const { readFile } = await import("node:fs/promises");
  assert.deepEqual(new Uint8Array(await readFile(echoed)), body);
});

test("gnutls-cli (GnuTLS, an independent TLS stack) completes the handshake and gets the page", {
  skip: missingClients("gnutls-cli"),
}, async () => {
  const { text } = await run("gnutls-cli", ["--x509cafile", certFile, "-p", String(server.port), "localhost"], [REQUEST]);
  assert.match(text, /Handshake was completed/);
  assert.match(text, /TLS1\.3/);
  assert.match(text, /hello https:\/\/localhost\/path/);
});

test("Node's https and tls: the page, and ALPN choosing h2 when offered, http/1.1 when that alone is", async () => {
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(`${origin}/n`, { ca }, (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
  assert.equal(body, `${"hello "}${origin}/n\n`);
  for (const [offered, chosen] of [
    [["h2", "http/1.1"], "h2"],
    [["http/1.1"], "http/1.1"],
  ] as const) {
    const socket = tls.connect({ host: "127.0.0.1", port: server.port, ca, servername: "localhost", ALPNProtocols: [...offered] });
    await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
    assert.equal(socket.alpnProtocol, chosen);
    assert.equal(socket.getProtocol(), "TLSv1.3");
    socket.destroy();
  }
});

test("a client offering only protocols the server lacks gets no_application_protocol", async () => {
  const socket = tls.connect({ host: "127.0.0.1", port: server.port, ca, servername: "localhost", ALPNProtocols: ["spdy/3"] });
  const error = await new Promise<Error>((resolve) => socket.once("error", resolve));
  assert.match(String(error), /no application protocol|ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL/i);
});

test("undici's fetch (Node's global fetch) over https", async () => {
  // NODE_EXTRA_CA_CERTS is read at start-up, so a child process gets the certificate through its environment.
  const child = await new Promise<Output>((resolve, reject) => {
    const script = `fetch(${JSON.stringify(`${origin}/f`)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const fetcher = spawn(process.execPath, ["-e", script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile } });
    let text = "";
    fetcher.stdout.on("data", (chunk) => (text += chunk));
    fetcher.stderr.on("data", (chunk) => (text += chunk));
    fetcher.on("error", reject);
    fetcher.on("close", (code) => resolve({ code, text }));
  });
  assert.equal(child.text, `hello ${origin}/f\n`);
});

test("wss:// with the ws client: a message echoed, then a clean close", async () => {
  const socket = new WebSocket(`wss://localhost:${server.port}/ws`, { ca });
  await new Promise<void>((resolve, reject) => socket.once("open", resolve).once("error", reject));
  socket.send("over tls");
  const [message] = (await new Promise((resolve) => socket.once("message", (...args) => resolve(args)))) as unknown as [Buffer];
  assert.equal(message.toString(), "over tls");
  socket.close(1000);
  const [code] = (await new Promise((resolve) => socket.once("close", (...args) => resolve(args)))) as unknown as [number];
  assert.equal(code, 1000);
});

/** Sends raw bytes, collects what comes back until the server closes (bounded). */
function rawExchange(bytes: Uint8Array, keepOpenMs = 2_000): Promise<{ received: Uint8Array; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), keepOpenMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => (closedByServer = true));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ received: new Uint8Array(Buffer.concat(chunks)), closedByServer });
    });
    socket.write(bytes);
  });
}

function record(type: number, body: Uint8Array): Uint8Array {
  return Uint8Array.of(type, 3, 1, body.length >> 8, body.length & 0xff, ...body);
}

async function stillServes(): Promise<void> {
  const { text } = await run("curl", ["-sS", "--max-time", "10", "--cacert", certFile, `https://localhost:${server.port}/alive`]);
  assert.equal(text, `hello https://localhost:${server.port}/alive\n`);
}

test("malformed input ends in the right alert and a close: plain HTTP, a bad record, a truncated and a corrupted ClientHello", {
  skip: missingClients("curl"),
}, async () => {
  const cases: [string, Uint8Array, number][] = [
    ["plain HTTP on the TLS port", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 10],
    ["a record over 2^14 + 256 bytes", Uint8Array.of(22, 3, 3, 0x48, 0x01), 22],
    [
      "a ClientHello cut short",
      record(
        22,
        rfc.clientHello.subarray(0, 60).map((byte, i) => (i === 3 ? 56 : byte)),
      ),
      50,
    ],
    [
      "a ClientHello with an extension running past its end",
      record(
        22,
        rfc.clientHello.map((byte, i) => (i === 50 ? 0xff : byte)),
      ),
      50,
    ],
  ];
  for (const [name, bytes, alert] of cases) {
    const { received, closedByServer } = await rawExchange(bytes);
    assert.deepEqual([...received], [21, 3, 3, 0, 2, 2, alert], name);
    assert.ok(closedByServer, `${name}: the server closes`);
  }
  await stillServes();
});

test("a client that never finishes its handshake is closed after handshakeTimeout", async () => {
  const { closedByServer } = await rawExchange(record(22, rfc.clientHello).subarray(0, 40), 10_000);
  assert.ok(closedByServer);
});

test("seeded fuzzing of ClientHello records: every mutation ends in an alert or a close, and the server keeps serving", {
  skip: missingClients("curl"),
}, async () => {
  let seed = 0x5eed;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const original = record(22, rfc.clientHello);
  for (let round = 0; round < 60; round++) {
    const mutated = original.slice();
    const flips = 1 + (random() % 4);
    for (let i = 0; i < flips; i++) mutated[5 + (random() % (mutated.length - 5))] = random() & 0xff;
    const { received } = await rawExchange(mutated, 3_000);
    // Either the server answered a still-valid hello (a ServerHello) or it sent a fatal alert; never silence while open.
    assert.ok(received.length === 0 || received[0] === 21 || received[0] === 22, `round ${round}: ${received[0]}`);
  }
  await stillServes();
});
