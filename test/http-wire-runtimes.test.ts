/**
 * The HTTP/1.1 wire cases of test/fixtures/http/wire-cases.ts against the demo app served by browser-httpd on
 * Node, Deno and Bun (their socket adapters), each in a child process (test/fixtures/http/demo-server.ts).
 * The same cases run inside Chromium in test/iwa-http-wire.test.ts.
 */
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { withTimeout } from "./fixtures/http/harness.js";
import { registerWireCases, type WireRuntime } from "./fixtures/http/wire-cases.js";

const serverScript = fileURLToPath(new URL("./fixtures/http/demo-server.js", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

const runtimes: Array<{ runtime: WireRuntime; command: string[] }> = [
  { runtime: "node", command: [process.execPath, serverScript] },
  { runtime: "deno", command: [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env", serverScript] },
  { runtime: "bun", command: [bin("bun"), serverScript] },
];

for (const { runtime, command } of runtimes) {
  describe(`HTTP/1.1 on the wire: the demo app on ${runtime}`, { timeout: 120_000 }, () => {
    let child: ChildProcess | undefined;
    let port = 0;
    let stderr = "";

    before(async () => {
      child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
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
      assert.equal(child?.exitCode ?? null, null, `the ${runtime} server died during the tests: ${stderr}`);
    });

    registerWireCases(runtime, () => port);
  });
}
