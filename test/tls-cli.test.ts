/**
 * HTTPS from the command line: `browser-httpd cert` makes a pair, `serve --tls-cert --tls-key` serves with it
 * (curl trusts it with --cacert), and every bad flag or file is refused before anything listens, naming the flag or
 * the file and the rule.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { cli, runCli } from "./fixtures/cli.js";
import { withTimeout } from "./fixtures/http/harness.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import { missingClients } from "./fixtures/clients.js";

const run = promisify(execFile);

describe("serve --tls-cert --tls-key", () => {
  let dir: string;
  let cert: string;
  let key: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tls-cli-"));
    const made = await runCli(["cert", "--out", dir]);
    assert.equal(made.code, 0, made.stderr);
    cert = join(dir, "cert.pem");
    key = join(dir, "key.pem");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the demo over HTTPS with a pair made by browser-httpd cert", { skip: missingClients("curl") }, async () => {
    const child = spawn(process.execPath, [cli, "serve", "--port", "0", "--tls-cert", cert, "--tls-key", key], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await withTimeout(
        new Promise<string>((resolve) => createInterface({ input: child.stdout }).once("line", resolve)),
        30_000,
        "serve to listen",
      );
      const url = /listening on (https:\/\/\S+)/.exec(line)?.[1];
      assert.ok(url, line);
      const port = new URL(url).port;
      const { stdout } = await run("curl", ["-sS", "--max-time", "10", "--cacert", cert, `https://localhost:${port}/hello`]);
      assert.equal(stdout, "Hello, world!");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses one flag without the other, naming both", async () => {
    const result = await runCli(["serve", "--port", "0", "--tls-cert", cert]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /needs both --tls-cert FILE and --tls-key FILE/);
  });

  it("refuses a file it cannot read, naming the flag and the path", async () => {
    const missing = join(dir, "missing.pem");
    const result = await runCli(["serve", "--port", "0", "--tls-cert", cert, "--tls-key", missing]);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(`--tls-key ${missing}: cannot read it (ENOENT)`), result.stderr);
  });

  it("refuses a key that does not belong to the certificate, naming both files", async () => {
    const other = await createSelfSignedCertificate();
    const otherKey = join(dir, "other-key.pem");
    await writeFile(otherKey, other.privateKeyPem);
    const result = await runCli(["serve", "--port", "0", "--tls-cert", cert, "--tls-key", otherKey]);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(otherKey) && result.stderr.includes(cert), result.stderr);
  });

  it("refuses a certificate file that holds no certificate, naming it", async () => {
    const result = await runCli(["serve", "--port", "0", "--tls-cert", key, "--tls-key", key]);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(key), result.stderr);
    assert.match(result.stderr, /CERTIFICATE/);
  });
});
