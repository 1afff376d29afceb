/**
 * The bundle library in Deno and Bun: a script (written here, run with `deno run` / `bun`) builds, signs and
 * verifies bundles with both key types, verifies one Node built, and rebuilds Node's Ed25519 bundle from the same
 * key and files. Node then checks the results: byte-identical to its own Ed25519 build, and accepted by our
 * verifier and `wbn`. A runtime that cannot start fails the test unless named in BROWSER_HTTPD_SKIP_RUNTIMES.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as wbn from "wbn";
import {
  buildSignedWebBundle,
  exportPrivateKeyPem,
  generateSigningKey,
  parseSignedWebBundle,
  verifySignedWebBundle,
  type BundleFile,
} from "../src/bundle/index.js";
import { projectRoot, runCommand } from "./fixtures/bundle/harness.js";

const bundleModule = pathToFileURL(join(projectRoot, "dist", "src", "bundle", "index.js")).href;
const runTimeoutMs = 120_000;

const appFiles: BundleFile[] = [
  { path: "index.html", body: "<!doctype html><title>runtimes</title><p>hello" },
  {
    path: ".well-known/manifest.webmanifest",
    body: JSON.stringify({
      name: "Runtimes",
      version: "1.0.0",
      start_url: "/",
      scope: "/",
      icons: [{ src: "/icon.svg", sizes: "any", type: "image/svg+xml" }],
      permissions_policy: { "cross-origin-isolated": ["self"] },
    }),
  },
  { path: "icon.svg", body: "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/>" },
  { path: "data/blob.bin", body: Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff) },
];

// Runs in Deno or Bun. Only the bundle library and file I/O: args are the library URL, an output folder,
// Node's Ed25519 key (PEM) and the path of the bundle Node built with it.
const script = `
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const [moduleUrl, outDir, ed25519PemPath, nodeBundlePath] = args;
const { readFile, writeFile } = await import("node:fs/promises");
const b = await import(moduleUrl);
const files = JSON.parse(await readFile(outDir + "/files.json", "utf8")).map(({ path, body, binary }) => ({
  path,
  body: binary ? Uint8Array.from(body) : body,
}));
const result = { ids: {} };
for (const algorithm of ["ed25519", "ecdsa-p256"]) {
  const key = await b.generateSigningKey(algorithm);
  const built = await b.buildSignedWebBundle({ files, keys: [key] });
  const verified = await b.verifySignedWebBundle(built.bytes);
  if (verified.webBundleId !== built.webBundleId) throw new Error("verified ID differs");
  for (const file of files) {
    const response = verified.responses.get(built.origin + file.path);
    if (!response || response.body.length !== (typeof file.body === "string" ? new TextEncoder().encode(file.body).length : file.body.length)) {
      throw new Error("response of " + file.path + " is wrong");
    }
  }
  result.ids[algorithm] = built.webBundleId;
  await writeFile(outDir + "/" + algorithm + ".swbn", built.bytes);
}
const nodeBuilt = await b.verifySignedWebBundle(new Uint8Array(await readFile(nodeBundlePath)));
result.nodeBundleId = nodeBuilt.webBundleId;
const key = await b.importSigningKey(await readFile(ed25519PemPath, "utf8"));
const rebuilt = await b.buildSignedWebBundle({ files, keys: [key] });
await writeFile(outDir + "/rebuilt.swbn", rebuilt.bytes);
console.log(JSON.stringify(result));
`;

interface Runtime {
  name: string;
  command: string;
  args: string[];
}

const runtimes: Runtime[] = [
  {
    name: "deno",
    command: join(projectRoot, "node_modules", ".bin", "deno"),
    // The library's one npm dependency (mime) comes from the project's node_modules.
    args: ["run", "--allow-read", "--allow-write", "--no-lock", "--node-modules-dir=manual"],
  },
  { name: "bun", command: join(projectRoot, "node_modules", ".bin", "bun"), args: [] },
];

const skippedRuntimes = new Set((process.env.BROWSER_HTTPD_SKIP_RUNTIMES ?? "").split(",").map((name) => name.trim()));

describe("bundle library in Deno and Bun", () => {
  let dir: string;
  let nodeBuilt: Awaited<ReturnType<typeof buildSignedWebBundle>>;
  const keyPath = () => join(dir, "ed25519.pem");
  const nodeBundlePath = () => join(dir, "node.swbn");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-bundle-runtimes-"));
    const key = await generateSigningKey("ed25519");
    nodeBuilt = await buildSignedWebBundle({ files: appFiles, keys: [key] });
    await writeFile(keyPath(), await exportPrivateKeyPem(key));
    await writeFile(nodeBundlePath(), nodeBuilt.bytes);
    await writeFile(join(dir, "script.mjs"), script);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const runtime of runtimes) {
    it(`round-trips in ${runtime.name}, byte-identical to Node for Ed25519`, async (t) => {
      const probe = spawnSync(runtime.command, ["--version"], { timeout: 30_000, encoding: "utf8" });
      if (probe.status !== 0) {
        const reason = `${runtime.name} cannot be started: ${probe.error?.message ?? probe.stderr}`;
        if (skippedRuntimes.has(runtime.name)) return t.skip(reason);
        assert.fail(`${reason}. Install the dev dependencies (npm ci), or set BROWSER_HTTPD_SKIP_RUNTIMES=${runtime.name}.`);
      }
      const outDir = join(dir, runtime.name);
      await mkdir(outDir);
      const serialised = appFiles.map(({ path, body }) =>
        typeof body === "string" ? { path, body } : { path, body: [...(body as Uint8Array)], binary: true },
      );
      await writeFile(join(outDir, "files.json"), JSON.stringify(serialised));

      const result = await runCommand(
        runtime.command,
        [...runtime.args, join(dir, "script.mjs"), bundleModule, outDir, keyPath(), nodeBundlePath()],
        {
          cwd: projectRoot,
          env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
          timeoutMs: runTimeoutMs,
        },
      );
      assert.equal(result.code, 0, `${runtime.name} failed:\n${result.stderr}`);
      const report = JSON.parse(result.stdout) as { ids: Record<string, string>; nodeBundleId: string };
      assert.equal(report.nodeBundleId, nodeBuilt.webBundleId);

      for (const algorithm of ["ed25519", "ecdsa-p256"]) {
        const bytes = new Uint8Array(await readFile(join(outDir, `${algorithm}.swbn`)));
        const verified = await verifySignedWebBundle(bytes);
        assert.equal(verified.webBundleId, report.ids[algorithm]);
        const reference = new wbn.Bundle(parseSignedWebBundle(bytes).webBundle as Buffer);
        assert.equal(reference.urls.length, appFiles.length + 1);
      }
      const rebuilt = new Uint8Array(await readFile(join(outDir, "rebuilt.swbn")));
      assert.deepEqual(rebuilt, nodeBuilt.bytes);
    });
  }
});
