/**
 * `browser-httpd init [DIR]` as a user runs it: it writes app.ts, an icon (a valid 256 × 256 PNG), a config naming
 * it and a README section; the module it wrote runs with `serve` (asked by fetch) and passes `start`'s check, whose
 * options then carry the icon; it never writes over an app.ts that is there, nor over an icon or a config.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inflateSync } from "node:zlib";
import { startOptions } from "../src/cli/start.js";
import { withTimeout } from "./fixtures/http/harness.js";
import { freePort } from "./fixtures/iwa/free-port.js";
import { cli, runCli } from "./fixtures/cli.js";
import { decodePng } from "./fixtures/iwa/png.js";

describe("browser-httpd init", { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-init-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes app.ts and README.md into a new folder, and says how to run it", async () => {
    const result = await runCli(["init", "my-server"], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^wrote my-server\/app\.ts, my-server\/icon\.png, my-server\/browser-httpd\.config\.json; wrote my-server\/README\.md$/m,
    );
    assert.match(result.stdout, /browser-httpd start my-server\/app\.ts/);
    assert.match(await readFile(join(dir, "my-server", "app.ts"), "utf8"), /^export default \{$/m);
    const readme = await readFile(join(dir, "my-server", "README.md"), "utf8");
    assert.match(readme, /^# my-server\n\n## Running the server\n/);
    assert.match(readme, /npx browser-httpd start \.\/app\.ts/);
    assert.match(readme, /`browser-httpd\.config\.json` names the app and its icon \(`icon\.png`, 256 × 256\)/);
  });

  it("writes a valid 256 × 256 PNG icon, and a config that names it", async () => {
    const png = await readFile(join(dir, "my-server", "icon.png"));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // The chunks: IHDR (256 × 256, 8-bit RGBA), then IDAT, then IEND.
    const chunks: Array<{ type: string; data: Buffer }> = [];
    for (let offset = 8; offset < png.length; ) {
      const length = png.readUInt32BE(offset);
      chunks.push({ type: png.toString("latin1", offset + 4, offset + 8), data: png.subarray(offset + 8, offset + 8 + length) });
      offset += 12 + length;
    }
    assert.deepEqual(
      chunks.map(({ type }) => type),
      ["IHDR", "IDAT", "IEND"],
    );
    const header = chunks[0]!.data;
    assert.deepEqual([header.readUInt32BE(0), header.readUInt32BE(4), ...header.subarray(8)], [256, 256, 8, 6, 0, 0, 0]);
    // Every chunk's CRC, and the pixel rows' length, checked by the tests' PNG decoder.
    assert.deepEqual({ ...decodePng(png), distinctSampleValues: undefined }, { width: 256, height: 256, distinctSampleValues: undefined });
    const rows = inflateSync(chunks[1]!.data);
    assert.equal(rows.length, 256 * (1 + 256 * 4), "one filter byte and 256 RGBA pixels a row");
    // Opaque in the middle, transparent in the rounded corner.
    const alpha = (x: number, y: number) => rows[y * (1 + 256 * 4) + 1 + x * 4 + 3];
    assert.equal(alpha(128, 128), 255);
    assert.equal(alpha(0, 0), 0);
    const config = JSON.parse(await readFile(join(dir, "my-server", "browser-httpd.config.json"), "utf8")) as unknown;
    assert.deepEqual(config, { name: "my-server", icon: "icon.png" });
  });

  it("start in that folder takes the icon and the name from the config", async () => {
    const options = await startOptions([join(dir, "my-server", "app.ts")]);
    assert.equal(options?.icon, join(dir, "my-server", "icon.png"));
    assert.equal(options?.name, "my-server");
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

  it("leaves a config that is there (package.json's field) as it is, and writes none beside it", async () => {
    const project = join(dir, "with-package");
    await mkdir(project);
    await writeFile(join(project, "package.json"), '{ "name": "p", "browser-httpd": { "port": 45000 } }\n');
    const result = await runCli(["init"], project);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote app\.ts, icon\.png; wrote README\.md; left package\.json's "browser-httpd" field as it was/m);
    await assert.rejects(stat(join(project, "browser-httpd.config.json")));
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
    assert.match(
      result.stdout,
      /^wrote app\.ts, icon\.png, browser-httpd\.config\.json; added a "## Running the server" section to README\.md$/m,
    );
    assert.match(await readFile(join(project, "README.md"), "utf8"), /^# My project\n\nAlready written\.\n\n## Running the server\n/);

    await rm(join(project, "app.ts"));
    const again = await runCli(["init"], project);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /left README\.md as it was/);
    assert.match(again.stdout, /; left icon\.png as it was, browser-httpd\.config\.json as it was/);
    assert.equal((await readFile(join(project, "README.md"), "utf8")).split("## Running the server").length, 2);
  });
});
