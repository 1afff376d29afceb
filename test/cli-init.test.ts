/**
 * `browser-httpd init [DIR]` as a user runs it: it writes app.ts and a README section, the module it wrote runs
 * with `serve` (asked by fetch) and passes `start`'s check, and it never writes over an app.ts that is there.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { withTimeout } from "./fixtures/http/harness.js";
import { freePort } from "./fixtures/iwa/free-port.js";
import { cli, runCli } from "./fixtures/cli.js";

describe("browser-httpd init", { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-init-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes app.ts and README.md into a new folder, and says how to run it", async () => {
    const result = await runCli(["init", "my-server"], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote my-server\/app\.ts; wrote my-server\/README\.md$/m);
    assert.match(result.stdout, /browser-httpd start my-server\/app\.ts/);
    assert.match(await readFile(join(dir, "my-server", "app.ts"), "utf8"), /^export default \{$/m);
    const readme = await readFile(join(dir, "my-server", "README.md"), "utf8");
    assert.match(readme, /^# my-server\n\n## Running the server\n/);
    assert.match(readme, /npx browser-httpd start \.\/app\.ts/);
  });

  it("the module it wrote answers on Node with serve", async () => {
    const child = spawn(process.execPath, [cli, "serve", "app.ts", "--port", "0"], {
      cwd: join(dir, "my-server"),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let output = "";
      const url = await withTimeout(
        new Promise<string>((resolve, reject) => {
          child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            // Up to the line's end: output may arrive cut inside the URL.
            const match = /listening on (http:\/\/\S+)\n/.exec(output);
            if (match) resolve(match[1]!);
          });
          child.once("exit", (code) => reject(new Error(`serve exited (${code})`)));
        }),
        20_000,
        "serve to listen",
      );
      assert.equal(await (await fetch(url)).text(), "Hello from app.ts!\n");
      assert.equal((await fetch(`${url}elsewhere`)).status, 404);
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  });

  it("the module it wrote passes start's check (the start fails only at the browser given)", async () => {
    // A free port, so that the start gets as far as the browser even while another app holds 44818.
    const port = String(await freePort());
    const result = await runCli(["start", "app.ts", "--port", port, "--chrome", "/nonexistent/chromium"], join(dir, "my-server"));
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stderr, /app\.ts/);
    assert.match(result.stderr, /\/nonexistent\/chromium/);
  });

  it("refuses to write over an app.ts, and then writes nothing", async () => {
    const before = await stat(join(dir, "my-server", "README.md"));
    await writeFile(join(dir, "my-server", "app.ts"), "// mine\n");
    const result = await runCli(["init", "my-server"], dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^browser-httpd: my-server\/app\.ts already exists; init writes nothing over it/m);
    assert.equal(await readFile(join(dir, "my-server", "app.ts"), "utf8"), "// mine\n");
    assert.equal((await stat(join(dir, "my-server", "README.md"))).mtimeMs, before.mtimeMs);
  });

  it("adds its section to a README.md that is there, once; without DIR it writes into the working folder", async () => {
    const project = join(dir, "project");
    await mkdir(project);
    await writeFile(join(project, "README.md"), "# My project\n\nAlready written.\n");
    const result = await runCli(["init"], project);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote app\.ts; added a "## Running the server" section to README\.md$/m);
    assert.match(await readFile(join(project, "README.md"), "utf8"), /^# My project\n\nAlready written\.\n\n## Running the server\n/);

    await rm(join(project, "app.ts"));
    const again = await runCli(["init"], project);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /left README\.md as it was/);
    assert.equal((await readFile(join(project, "README.md"), "utf8")).split("## Running the server").length, 2);
  });
});
