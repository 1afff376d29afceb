/** Deno's and Bun's own WebSocket clients against browser-httpd on Node. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startServer, type TestServer } from "./fixtures/websocket/server.js";

const script = fileURLToPath(new URL("../../test/fixtures/websocket/runtime-client.mjs", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

interface Report {
  error?: string;
  extensions: string;
  results: Array<{ size: number; kind: string; ok: boolean }>;
  close: { code: number; reason: string; wasClean: boolean };
}

function runClient(command: string, args: string[]): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 120_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Report);
    });
  });
}

function check(report: Report): void {
  assert.equal(report.error, undefined);
  assert.equal(report.results.length, 12);
  for (const result of report.results) assert.ok(result.ok, `${result.kind} echo of ${result.size} bytes`);
  assert.deepEqual(report.close, { code: 1000, reason: "done", wasClean: true });
}

test("Deno's WebSocket: echo of every boundary size, clean close", async () => {
  check(await runClient(bin("deno"), ["run", "--allow-net", script, server.wsUrl()]));
});

test("Bun's WebSocket: echo of every boundary size with permessage-deflate, clean close", async () => {
  const report = await runClient(bin("bun"), [script, server.wsUrl()]);
  assert.match(report.extensions, /^permessage-deflate/);
  check(report);
});
