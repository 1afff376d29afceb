/**
 * The same TypeScript TLS on Deno and Bun (Node has test/tls-clients.test.ts): each runtime serves HTTPS and WSS
 * from test/fixtures/tls/tls-server.ts in a child process; curl, openssl s_client and the ws client talk to it.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import WebSocket from "ws";
import { withTimeout } from "./fixtures/http/harness.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import { missingClients } from "./fixtures/clients.js";

const serverScript = fileURLToPath(new URL("./fixtures/tls/tls-server.js", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));
const execFileText = promisify(execFile);

const runtimes = [
  { runtime: "deno", command: [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env", serverScript] },
  { runtime: "bun", command: [bin("bun"), serverScript] },
];

for (const { runtime, command } of runtimes) {
  describe(`TLS 1.3 on ${runtime}`, { timeout: 120_000 }, () => {
    let child: ChildProcess | undefined;
    let port = 0;
    let stderr = "";
    let dir = "";
    let certFile = "";
    let ca = "";

    before(async () => {
      const credentials = await createSelfSignedCertificate();
      ca = credentials.certificatePem;
      dir = await mkdtemp(join(tmpdir(), `tls-${runtime}-`));
      certFile = join(dir, "cert.pem");
      await writeFile(certFile, ca);
      child = spawn(command[0]!, command.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, BROWSER_HTTPD_TEST_CERT: credentials.certificatePem, BROWSER_HTTPD_TEST_KEY: credentials.privateKeyPem },
      });
      child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      const line = await withTimeout(
        new Promise<string>((resolve, reject) => {
          createInterface({ input: child!.stdout! }).once("line", resolve);
          child!.once("exit", (code) => reject(new Error(`the ${runtime} server exited (${code}): ${stderr}`)));
        }),
        30_000,
        `the ${runtime} server to listen`,
      );
      const started = JSON.parse(line) as { runtime: string; port: number };
      assert.equal(started.runtime, runtime);
      port = started.port;
    });
    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await withTimeout(exited, 10_000, `the ${runtime} server to exit`);
      }
      await rm(dir, { recursive: true, force: true });
      assert.equal(child?.exitCode ?? null, null, `the ${runtime} server died during the tests: ${stderr}`);
    });

    test("curl: GET and a 2 MiB POST echoed", { skip: missingClients("curl") }, async () => {
      const { stdout } = await execFileText("curl", ["-sS", "--max-time", "20", "--cacert", certFile, `https://localhost:${port}/r`]);
      assert.equal(stdout, `hello https://localhost:${port}/r from ${runtime}\n`);
      const body = join(dir, "body.bin");
      const bytes = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
      await writeFile(body, bytes);
      const echoed = join(dir, "echoed.bin");
      await execFileText("curl", [
        "-sS",
        "--max-time",
        "60",
        "--cacert",
        certFile,
        "--data-binary",
        `@${body}`,
        "-o",
        echoed,
        `https://localhost:${port}/`,
      ]);
      const { readFile } = await import("node:fs/promises");
      assert.deepEqual(new Uint8Array(await readFile(echoed)), bytes);
    });

    test("openssl s_client: TLS_AES_256_GCM_SHA384 over secp256r1", { skip: missingClients("openssl") }, async () => {
      const { stdout } = await execFileText(
        "openssl",
        [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-tls1_3",
          "-ciphersuites",
          "TLS_AES_256_GCM_SHA384",
          "-groups",
          "P-256",
          "-CAfile",
          certFile,
        ],
        { timeout: 15_000 },
      ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      assert.match(stdout, /New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384/);
      assert.match(stdout, /Verify return code: 0 \(ok\)/);
    });

    test("wss:// echo with the ws client", async () => {
      const socket = new WebSocket(`wss://localhost:${port}/ws`, { ca });
      await new Promise<void>((resolve, reject) => socket.once("open", resolve).once("error", reject));
      const message = new Promise<string>((resolve) => socket.once("message", (data) => resolve(String(data))));
      socket.send(`to ${runtime}`);
      assert.equal(await withTimeout(message, 10_000, "the echo"), `to ${runtime}`);
      socket.close(1000);
    });
  });
}
