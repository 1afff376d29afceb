/**
 * HTTPS and WSS from inside Chromium: `start --tls-cert --tls-key` as the CLI computes it, the demo app serving
 * TLS 1.3 through the page's TypeScript TLS on Direct Sockets. OpenSSL (curl, s_client), GnuTLS and Chromium's
 * own BoringSSL (fetch and WebSocket from a page of the app's https:// origin) are the clients.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { evaluate, openPage } from "../launcher/iwa.js";
import { startOptions } from "../src/cli/start.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";
import * as rfc from "./fixtures/rfc8448.js";
import { missingClients } from "./fixtures/clients.js";

const run = promisify(execFile);

describe("HTTPS and WSS served from inside Chromium", { timeout: 240_000 }, () => {
  let app: TestApp;
  let dir: string;
  let certFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "iwa-tls-"));
    const credentials = await createSelfSignedCertificate();
    certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    await writeFile(certFile, credentials.certificatePem);
    await writeFile(keyFile, credentials.privateKeyPem, { mode: 0o600 });
    const options = await startOptions(["--tls-cert", certFile, "--tls-key", keyFile]);
    app = await launchTestApp({ tls: options!.tls });
  });
  after(async () => {
    await app?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("start reports an https:// URL, and curl --cacert gets the page over TLS 1.3 (HTTP/2 by ALPN, or HTTP/1.1)", {
    skip: missingClients("curl"),
  }, async () => {
    assert.match(app.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "20",
      "--cacert",
      certFile,
      "-w",
      "\\n%{http_version} %{ssl_verify_result}",
      `https://localhost:${app.port}/hello`,
    ]);
    assert.match(stdout, /^Hello, world!/);
    assert.match(stdout, /\n2 0$/);
    const http1 = await run("curl", [
      "-sS",
      "--http1.1",
      "--max-time",
      "20",
      "--cacert",
      certFile,
      "-w",
      "\\n%{http_version}",
      `https://localhost:${app.port}/hello`,
    ]);
    assert.equal(http1.stdout, "Hello, world!\n1.1");
  });

  it("curl downloads 8 MiB intact, and 10 MiB uploaded comes back whole", { skip: missingClients("curl") }, async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "60",
      "--cacert",
      certFile,
      "-o",
      join(dir, "download.bin"),
      "-w",
      "%{size_download}",
      `https://localhost:${app.port}/download?bytes=${8 * 1024 * 1024}`,
    ]);
    assert.equal(Number(stdout), 8 * 1024 * 1024);
    assert.equal((await readFile(join(dir, "download.bin"))).length, 8 * 1024 * 1024);
    const upload = join(dir, "upload.bin");
    await writeFile(upload, new Uint8Array(10 * 1024 * 1024).fill(7));
    const posted = await run(
      "curl",
      ["-sS", "--max-time", "60", "--cacert", certFile, "--data-binary", `@${upload}`, `https://localhost:${app.port}/echo`],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.equal(posted.stdout.length, 10 * 1024 * 1024);
  });

  for (const [suite, group] of [
    ["TLS_AES_128_GCM_SHA256", "X25519"],
    ["TLS_AES_256_GCM_SHA384", "P-256"],
  ] as const) {
    it(`openssl s_client: ${suite} with ${group}`, { skip: missingClients("openssl") }, async () => {
      const { stdout } = await run(
        "openssl",
        ["s_client", "-connect", `127.0.0.1:${app.port}`, "-tls1_3", "-ciphersuites", suite, "-groups", group, "-CAfile", certFile],
        { timeout: 15_000 },
      ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      assert.match(stdout, new RegExp(`New, TLSv1.3, Cipher is ${suite}`));
      assert.match(stdout, /Verify return code: 0 \(ok\)/);
    });
  }

  it("gnutls-cli completes the handshake", { skip: missingClients("gnutls-cli") }, async () => {
    const { stdout } = await run("gnutls-cli", ["--x509cafile", certFile, "-p", String(app.port), "localhost"], { timeout: 15_000 }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout }),
    );
    assert.match(stdout, /Handshake was completed/);
  });

  it("hostile TLS clients (garbage, plain HTTP, half-sent hellos reset, a burst of dropped connections) leave it serving", {
    skip: missingClients("curl"),
  }, async () => {
    const hello = Uint8Array.of(22, 3, 1, 0, rfc.clientHello.length, ...rfc.clientHello);
    const attempts: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      attempts.push(
        new Promise<void>((resolve) => {
          const socket = net.connect(app.port, "127.0.0.1");
          socket.on("error", () => {});
          socket.on("close", () => resolve());
          socket.once("connect", () => {
            const kind = i % 4;
            if (kind === 0) socket.write(crypto.getRandomValues(new Uint8Array(200)));
            else if (kind === 1) socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            else if (kind === 2) socket.write(hello.subarray(0, 40 + (i % 100)));
            if (kind >= 2) setTimeout(() => socket.resetAndDestroy(), 20);
            else setTimeout(() => socket.destroy(), 2_000);
          });
        }),
      );
    }
    await Promise.all(attempts);
    const { stdout } = await run("curl", ["-sS", "--max-time", "20", "--cacert", certFile, `https://localhost:${app.port}/hello`]);
    assert.equal(stdout, "Hello, world!");
    const status = await app.evaluateInApp<{ state: string }>("browserHttpd.status()");
    assert.equal(status.state, "listening");
  });

  it("Chromium's own fetch (over HTTP/2, by ALPN) and WebSocket reach the app over https:// and wss://", async () => {
    const { cdp } = app.chromium;
    const { targetId, sessionId } = await openPage(cdp, app.url);
    try {
      // The new target first holds about:blank, already "complete": wait for the app's own document.
      const origin = app.url.slice(0, -1);
      let ready = "";
      for (let attempt = 0; attempt < 100 && ready !== `complete${origin}`; attempt++) {
        ready = await evaluate<string>(cdp, sessionId, "document.readyState + location.origin").catch(() => "");
        if (ready !== `complete${origin}`) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const result = await evaluate<{ origin: string; body: string; protocol: string; echo: string }>(
        cdp,
        sessionId,
        `(async () => {
          const response = await fetch("/hello");
          const body = await response.text();
          const entry = performance.getEntriesByType("resource").find((e) => e.name.endsWith("/hello"));
          const socket = new WebSocket(location.origin.replace("https:", "wss:") + "/ws");
          const echo = await new Promise((resolve, reject) => {
            socket.onopen = () => socket.send("through BoringSSL");
            socket.onmessage = (event) => resolve(String(event.data));
            socket.onerror = () => reject(new Error("websocket error"));
          });
          socket.close(1000);
          return { origin: location.origin, body, protocol: entry ? entry.nextHopProtocol : "", echo };
        })()`,
      );
      assert.equal(result.origin, app.url.slice(0, -1));
      assert.equal(result.body, "Hello, world!");
      assert.equal(result.protocol, "h2");
      assert.match(result.echo, /through BoringSSL/);
    } finally {
      await cdp.send("Target.closeTarget", { targetId }).catch(() => undefined);
    }
  });
});
