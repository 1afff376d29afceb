/**
 * The demo app as a user runs it: `node dist/src/cli/main.js serve --port 0` in a child process, probed with
 * curl. The routes are the contract the IWA serves too. The child also shows that a client which does not
 * read a huge download leaves the server's memory (RSS) where it was.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { curl, delay, MiB, projectRoot, RawClient, withTimeout } from "./fixtures/http/harness.js";

const cli = join(projectRoot, "dist", "src", "cli", "main.js");

/** Resident set size of a process, from /proc (Linux). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(match, "VmRSS in /proc/PID/status");
  return Number(match[1]) * 1024;
}

function patternMismatch(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== i % 251) return i;
  return -1;
}

describe("demo app via `browser-httpd serve`", { timeout: 120_000 }, () => {
  let child: ChildProcess;
  let url: string;
  let port: number;
  let output = "";
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "http-demo-"));
    child = spawn(process.execPath, [cli, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const listening = new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        // Up to the line's end: output may arrive cut inside the URL.
        const match = /listening on (http:\/\/\S+)\n/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`the CLI exited (${code}) before listening: ${output}`)));
    });
    url = await withTimeout(listening, 20_000, "the demo server to listen");
    port = Number(new URL(url).port);
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1", () => {
    assert.equal(new URL(url).hostname, "127.0.0.1");
  });

  it("GET /hello → Hello, world! as text/plain (curl -v)", async () => {
    const result = await curl(["-v", `${url}hello`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), "Hello, world!");
    assert.match(result.stderr, /< HTTP\/1\.1 200 OK/);
    assert.match(result.stderr, /< content-type: text\/plain; charset=utf-8/i);
    assert.match(result.stderr, /< content-length: 13/i);
    assert.match(result.stderr, /< date: /i);
  });

  it("GET / is a small HTML page; HEAD /hello has no body; unknown paths 404, wrong methods 405", async () => {
    const page = await curl(["-i", url]);
    assert.match(page.stdout.toString(), /content-type: text\/html; charset=utf-8/i);
    assert.match(page.stdout.toString(), /<html/);
    const head = await curl(["-I", `${url}hello`]);
    assert.match(head.stdout.toString(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head.stdout.toString(), /content-length: 13/i);
    assert.match((await curl(["-o", "/dev/null", "-w", "%{http_code}", `${url}nowhere`])).stdout.toString(), /^404$/);
    assert.match((await curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", `${url}hello`])).stdout.toString(), /^405$/);
  });

  it("POST /echo streams the body back with its content type", async () => {
    const payload = randomBytes(4 * MiB);
    const file = join(dir, "echo");
    await writeFile(file, payload);
    const echoed = join(dir, "echoed");
    const result = await curl([
      "--data-binary",
      `@${file}`,
      "-H",
      "content-type: application/x-test",
      "-o",
      echoed,
      "-w",
      "%{content_type}",
      `${url}echo`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), "application/x-test");
    assert.ok((await readFile(echoed)).equals(payload), "echoed bytes differ");
  });

  it("POST /upload answers the byte count and SHA-256, also for chunked uploads", async () => {
    const payload = randomBytes(10 * MiB + 3);
    const file = join(dir, "upload");
    await writeFile(file, payload);
    const expected = { bytes: payload.length, sha256: createHash("sha256").update(payload).digest("hex") };
    const fixed = await curl(["--data-binary", `@${file}`, `${url}upload`]);
    assert.deepEqual(JSON.parse(fixed.stdout.toString()), expected);
    const chunked = await curl(["--data-binary", `@${file}`, "-H", "transfer-encoding: chunked", `${url}upload`]);
    assert.deepEqual(JSON.parse(chunked.stdout.toString()), expected);
    const empty = await curl(["-X", "POST", `${url}upload`]);
    assert.equal(JSON.parse(empty.stdout.toString()).bytes, 0);
  });

  it("GET /download?bytes=N streams the pattern, with Content-Length or chunked", async () => {
    const length = 5 * MiB + 17;
    const fixed = await curl(["-D", "-", "-o", join(dir, "fixed"), `${url}download?bytes=${length}`]);
    assert.match(fixed.stdout.toString(), new RegExp(`content-length: ${length}`, "i"));
    const fixedBody = await readFile(join(dir, "fixed"));
    assert.equal(fixedBody.length, length);
    assert.equal(patternMismatch(fixedBody), -1);

    const chunked = await curl(["-D", "-", "-o", join(dir, "chunked"), `${url}download?bytes=${length}&chunked=1`]);
    assert.match(chunked.stdout.toString(), /transfer-encoding: chunked/i);
    const chunkedBody = await readFile(join(dir, "chunked"));
    assert.equal(chunkedBody.length, length);
    assert.equal(patternMismatch(chunkedBody), -1);

    assert.equal((await curl([`${url}download?bytes=0`])).stdout.length, 0);
    assert.match((await curl(["-o", "/dev/null", "-w", "%{http_code}", `${url}download?bytes=-1`])).stdout.toString(), /^400$/);
  });

  it("OPTIONS * is answered, and preflights get CORS and Private Network Access consent", async () => {
    const star = await curl(["-i", "-X", "OPTIONS", "--request-target", "*", url]);
    assert.match(star.stdout.toString(), /^HTTP\/1\.1 204 /);
    const preflight = await curl([
      "-i",
      "-X",
      "OPTIONS",
      "-H",
      "Origin: https://example.com",
      "-H",
      "Access-Control-Request-Method: POST",
      "-H",
      "Access-Control-Request-Private-Network: true",
      `${url}upload`,
    ]);
    const text = preflight.stdout.toString();
    assert.match(text, /^HTTP\/1\.1 204 /);
    assert.match(text, /access-control-allow-origin: \*/i);
    assert.match(text, /access-control-allow-private-network: true/i);
  });

  it("keeps its memory flat while a client does not read a 4 GiB download", async () => {
    const before = await rssOf(child.pid!);
    const client = await RawClient.connect(port);
    try {
      client.socket.pause();
      await client.write("GET /download?bytes=4294967296 HTTP/1.1\r\nHost: h\r\n\r\n");
      // Let the server fill every buffer it will fill.
      await delay(1_500);
      const during = await rssOf(child.pid!);
      assert.ok(during - before < 64 * MiB, `RSS grew by ${((during - before) / MiB).toFixed(1)} MiB while the client read nothing`);
    } finally {
      client.destroy();
    }
    const after = await curl([`${url}hello`]);
    assert.equal(after.stdout.toString(), "Hello, world!", "still serving after the client left");
  });

  it("shuts down cleanly on SIGTERM", async () => {
    child.kill("SIGTERM");
    const [code] = (await withTimeout(once(child, "exit"), 10_000, "the CLI to exit")) as [number | null];
    assert.equal(code, 0, output);
  });
});
