/**
 * serveStatic over a directory (node:fs/promises, as Deno and Bun implement it) served by browser-httpd on Node,
 * Deno and Bun, each in a child process (test/fixtures/static/server.ts), asked by fetch and raw sockets; and
 * examples/static.ts started on each runtime the way the README says.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { exchange, withTimeout } from "./fixtures/http/harness.js";
import { BIG_SIZE, bytesOf, MTIME_MS, pattern, SECRET, writeTree, type DiskTree } from "./fixtures/static/tree.js";

const serverScript = fileURLToPath(new URL("./fixtures/static/server.js", import.meta.url));
const exampleScript = fileURLToPath(new URL("../examples/static.js", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

const runtimes: Array<{ name: string; command: string[] }> = [
  { name: "node", command: [process.execPath] },
  { name: "deno", command: [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env"] },
  { name: "bun", command: [bin("bun")] },
];

interface Child {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/** Starts `command`, and reads the port from its first line (JSON with `port`, or a URL). */
async function start(command: string[], env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", ...env } });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  try {
    const line = await withTimeout(
      new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
        child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited (${code}): ${stderr}`)));
      }),
      30_000,
      `${command.join(" ")} to listen`,
    );
    const port = line.startsWith("{") ? (JSON.parse(line) as { port: number }).port : Number(/:\/\/127\.0\.0\.1:(\d+)\//.exec(line)?.[1]);
    assert.ok(port > 0, `a port in the first line: ${line}`);
    return { child, port, stderr: () => stderr };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

async function stop(running: Child | undefined): Promise<void> {
  const child = running?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await withTimeout(exited, 10_000, "the server to exit");
}

let tree: DiskTree;
before(async () => {
  tree = await writeTree();
});
after(async () => {
  await tree?.remove();
});

for (const { name, command } of runtimes) {
  describe(`serveStatic(directory) on ${name}`, { timeout: 60_000 }, () => {
    let server: Child | undefined;
    let base = "";

    before(async () => {
      server = await start([...command, serverScript, tree.root, "--listing"]);
      base = `http://127.0.0.1:${server.port}`;
    });
    after(async () => {
      const died = server && (server.child.exitCode !== null || server.child.signalCode !== null);
      await stop(server);
      assert.ok(!died, `the ${name} server died during the tests: ${server?.stderr()}`);
    });

    it("a file: type, length, validators, bytes", async () => {
      const response = await fetch(`${base}/hello.txt`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(response.headers.get("etag"), `W/"21-${MTIME_MS}"`);
      assert.equal(response.headers.get("last-modified"), new Date(MTIME_MS).toUTCString());
      assert.equal(await response.text(), "Hello, static world!\n");
    });

    it("1 MiB streamed whole, a range of it, HEAD, 304", async () => {
      const whole = new Uint8Array(await (await fetch(`${base}/big.bin`)).arrayBuffer());
      assert.ok(Buffer.from(whole).equals(Buffer.from(bytesOf("big.bin"))), "the whole file, byte for byte");
      const ranged = await fetch(`${base}/big.bin`, { headers: { range: "bytes=70000-70099" } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get("content-range"), `bytes 70000-70099/${BIG_SIZE}`);
      assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from(pattern(100, 70000))));
      const unsatisfiable = await fetch(`${base}/big.bin`, { headers: { range: `bytes=${BIG_SIZE}-` } });
      assert.equal(unsatisfiable.status, 416);
      assert.equal(unsatisfiable.headers.get("content-range"), `bytes */${BIG_SIZE}`);
      const head = await fetch(`${base}/big.bin`, { method: "HEAD" });
      assert.equal(head.headers.get("content-length"), String(BIG_SIZE));
      const notModified = await fetch(`${base}/big.bin`, { headers: { "if-none-match": head.headers.get("etag")! } });
      assert.equal(notModified.status, 304);
    });

    it("folders: redirect, index, listing; dotfiles and missing files 404; POST 405", async () => {
      const redirect = await fetch(`${base}/docs`, { redirect: "manual" });
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.get("location"), "/docs/");
      assert.equal(await (await fetch(`${base}/docs/`)).text(), "<!doctype html>\n<title>docs</title>\n");
      assert.match(await (await fetch(`${base}/assets/`)).text(), /a b&#38;c&#60;d&#62;\.txt/);
      assert.equal((await fetch(`${base}/.env`)).status, 404);
      assert.equal((await fetch(`${base}/missing`)).status, 404);
      const post = await fetch(`${base}/hello.txt`, { method: "POST", body: "x" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
    });

    it("never outside the root: traversal 400, symlinks out 404, symlinks in 200", async () => {
      for (const target of [
        "/../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/..%2foutside%2fsecret.txt",
        "/..\\outside\\secret.txt",
        "/hello.txt%00",
        "//etc/passwd",
      ]) {
        const [response] = await exchange(server!.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        assert.equal(response?.status, 400, target);
      }
      for (const target of ["/link-outside", "/link-absolute", "/link-dir-outside/secret.txt"]) {
        const response = await fetch(base + target);
        const text = await response.text();
        assert.equal(response.status, 404, target);
        assert.ok(!text.includes(SECRET.trim()));
      }
      assert.equal(await (await fetch(`${base}/link-inside`)).text(), "Hello, static world!\n");
    });
  });
}

for (const { name, command } of runtimes) {
  describe(`examples/static.ts on ${name}`, { timeout: 60_000 }, () => {
    let example: Child | undefined;
    let base = "";
    before(async () => {
      example = await start([...command, exampleScript], { PORT: "0" });
      base = `http://127.0.0.1:${example.port}`;
    });
    after(() => stop(example));

    it("serves examples/static-site, its listing, and the app's route beside the files", async () => {
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(page.headers.get("cache-control"), "public, max-age=60");
      assert.match(await page.text(), /A static site on browser-httpd/);
      const css = await fetch(`${base}/css/site.css`);
      assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
      await css.arrayBuffer();
      assert.match(await (await fetch(`${base}/notes/`)).text(), /<a href="hello\.txt">hello\.txt<\/a>/);
      const time = (await (await fetch(`${base}/api/time`)).json()) as { now: string };
      assert.ok(!Number.isNaN(Date.parse(time.now)));
      assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
    });
  });
}
