/**
 * HTTP/2 (h2c with prior knowledge) from serve() on Deno and Bun, through their socket adapters, each in a child
 * process: curl GET and a 10 MiB upload, h2load -n 2000 -c 4 -m 10 without errors, and HTTP/1.1 on the same port.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const serveModule = fileURLToPath(new URL("../src/server/serve.js", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));
const has = (command: string) => spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
const TOOLS = has("curl") && has("h2load");

const script = `
import { serve } from ${JSON.stringify(serveModule)};
const server = serve({
  port: 0,
  fetch: async (request) =>
    new Response(request.body ? "length " + (await request.arrayBuffer()).byteLength : "hello " + new URL(request.url).pathname),
});
await server.ready();
console.log(server.port);
`;

function run(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 120_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const runtimes = [
  { runtime: "deno", command: (file: string) => [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env", file] },
  { runtime: "bun", command: (file: string) => [bin("bun"), file] },
];

for (const { runtime, command } of runtimes) {
  describe(`HTTP/2 from serve() on ${runtime}`, { timeout: 180_000, skip: !TOOLS || !has(bin(runtime)) }, () => {
    let child: ChildProcess | undefined;
    let base = "";
    let dir = "";
    let upload = "";

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `browser-httpd-h2-${runtime}-`));
      const file = join(dir, "server.mjs");
      writeFileSync(file, script);
      upload = join(dir, "upload.bin");
      writeFileSync(upload, randomBytes(10 * 1024 * 1024));
      const [program, ...args] = command(file);
      child = spawn(program!, args, { stdio: ["ignore", "pipe", "inherit"] });
      const port = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child!.stdout! }).once("line", resolve);
        child!.once("exit", (code) => reject(new Error(`the ${runtime} server exited (${code})`)));
      });
      base = `http://127.0.0.1:${port.trim()}`;
    });
    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it("curl --http2-prior-knowledge: GET and a 10 MiB upload", async () => {
      const get = await run("curl", ["-sS", "--http2-prior-knowledge", "-w", "\\n%{http_version}", `${base}/a`]);
      assert.equal(get.stdout, "hello /a\n2");
      const post = await run("curl", ["-sS", "--http2-prior-knowledge", "--data-binary", `@${upload}`, `${base}/up`]);
      assert.equal(post.stdout, `length ${10 * 1024 * 1024}`);
    });

    it("h2load -n 2000 -c 4 -m 10 without errors, and HTTP/1.1 on the same port", async () => {
      const result = await run("h2load", ["-n", "2000", "-c", "4", "-m", "10", `${base}/hello`]);
      assert.match(result.stdout, /2000 succeeded, 0 failed, 0 errored, 0 timeout/);
      const http1 = await run("curl", ["-sS", "--http1.1", "-w", "\\n%{http_version}", `${base}/one`]);
      assert.equal(http1.stdout, "hello /one\n1.1");
    });
  });
}
