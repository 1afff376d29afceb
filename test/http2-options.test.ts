/**
 * serve()'s `http2` option: its limits reach the client (SETTINGS), and `false` leaves HTTP/1.1 alone on the port,
 * in the clear (no h2c preface) and over TLS (no `h2` by ALPN).
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { test } from "node:test";
import { serve } from "../src/index.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

test("http2: { maxConcurrentStreams } is announced in the server's SETTINGS", async () => {
  const server = serve({ port: 0, http2: { maxConcurrentStreams: 7 }, fetch: () => new Response("ok") });
  await server.ready();
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  try {
    const settings = await new Promise<http2.Settings>((resolve, reject) => session.once("remoteSettings", resolve).once("error", reject));
    assert.equal(settings.maxConcurrentStreams, 7);
  } finally {
    session.destroy();
    await server.close(true);
  }
});

test("http2: false answers the h2c preface as HTTP/1.1 would (400) and never speaks HTTP/2", async () => {
  const server = serve({ port: 0, http2: false, fetch: () => new Response("ok") });
  await server.ready();
  try {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(server.port, "127.0.0.1", () => socket.write(PREFACE));
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString("latin1")));
      socket.on("error", () => {});
      socket.on("close", () => resolve(text));
    });
    assert.match(reply, /^HTTP\/1\.1 (400|505) /);
  } finally {
    await server.close(true);
  }
});

test("http2: false with tls chooses http/1.1 by ALPN even when h2 is offered first", async () => {
  const made = await createSelfSignedCertificate();
  const server = serve({
    port: 0,
    http2: false,
    tls: { cert: made.certificatePem, key: made.privateKeyPem },
    fetch: () => new Response("ok"),
  });
  await server.ready();
  try {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: server.port,
      ca: made.certificatePem,
      servername: "localhost",
      ALPNProtocols: ["h2", "http/1.1"],
    });
    await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
    assert.equal(socket.alpnProtocol, "http/1.1");
    socket.destroy();
  } finally {
    await server.close(true);
  }
});
