/**
 * Building and reading a Signed Web Bundle of 1,000 files / 100 MiB: browser-httpd (the `bundle` CLI, Web Crypto)
 * beside the reference `wbn` + `wbn-sign` (node:crypto), each run in its own process under /usr/bin/time for
 * wall time and peak RSS. Same files, same response headers, same Ed25519 key. Medians of RUNS runs.
 * Run: `npx tsc -p . ; node dist/bench/bundle.js`.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as wbn from "wbn";
import * as wbnSign from "wbn-sign";
import {
  exportPrivateKeyPem,
  generateSigningKey,
  iwaResponseHeaders,
  parseSignedWebBundle,
  verifySignedWebBundle,
} from "../src/bundle/index.js";
import { listFiles } from "../src/node/list-files.js";
import { median } from "./median.js";

const here = fileURLToPath(import.meta.url); // dist/bench/bundle.js
const projectRoot = join(dirname(here), "..", "..");
const cli = join(projectRoot, "dist", "src", "cli", "main.js");

const FILE_COUNT = 1000;
const TOTAL_BYTES = 100 * 1024 * 1024;
const RUNS = 5;

/** An IWA of FILE_COUNT files totalling TOTAL_BYTES: a manifest, an icon, pages, and random assets of mixed sizes. */
async function makeApp(dir: string): Promise<void> {
  const manifest = {
    name: "Bench",
    version: "1.0.0",
    start_url: "/",
    scope: "/",
    icons: [{ src: "/icon.svg", sizes: "any", type: "image/svg+xml" }],
    permissions_policy: { "cross-origin-isolated": ["self"] },
  };
  const fixed: [string, string][] = [
    [".well-known/manifest.webmanifest", JSON.stringify(manifest)],
    ["icon.svg", "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/>"],
    ["index.html", "<!doctype html><title>bench</title>"],
  ];
  for (const [path, text] of fixed) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  // Sizes spread over three orders of magnitude, scaled to the total.
  const count = FILE_COUNT - fixed.length;
  const weights = Array.from({ length: count }, (_, i) => 10 ** ((i % 30) / 10));
  const scale = (TOTAL_BYTES - fixed.reduce((sum, [, text]) => sum + text.length, 0)) / weights.reduce((a, b) => a + b, 0);
  let remaining = TOTAL_BYTES - fixed.reduce((sum, [, text]) => sum + text.length, 0);
  const extensions = ["js", "css", "png", "wasm", "json", "bin"];
  for (let i = 0; i < count; i++) {
    const size = i === count - 1 ? remaining : Math.floor(weights[i]! * scale);
    remaining -= size;
    const path = join(dir, `assets/dir${i % 20}/file${i}.${extensions[i % extensions.length]}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, randomBytes(size));
  }
}

/** The reference pipeline as webbundle-plugins run it: wbn BundleBuilder, then wbn-sign's IntegrityBlockSigner. */
async function referenceBuild(dir: string, keyPath: string, out: string): Promise<void> {
  const key = wbnSign.parsePemKey(readFileSync(keyPath));
  const origin = new wbnSign.WebBundleId(key).serializeWithIsolatedWebAppOrigin();
  const builder = new wbn.BundleBuilder("b2");
  for (const path of await listFiles(dir)) {
    const body = readFileSync(join(dir, path));
    const headers = iwaResponseHeaders(`/${path}`);
    builder.addExchange(origin + path, 200, headers, body);
    if (path === "index.html") builder.addExchange(origin, 200, headers, body);
  }
  const webBundle = builder.createBundle();
  const signer = new wbnSign.IntegrityBlockSigner(webBundle, new wbnSign.WebBundleId(key).serialize(), [
    new wbnSign.NodeCryptoSigningStrategy(key),
  ]);
  await writeFile(out, (await signer.sign()).signedWebBundle);
}

async function child(mode: string, args: string[]): Promise<void> {
  switch (mode) {
    case "baseline":
      return; // the process with the modules loaded, nothing done: the runtime's own footprint
    case "reference-build":
      return referenceBuild(args[0]!, args[1]!, args[2]!);
    case "ours-verify":
      await verifySignedWebBundle(await readFile(args[0]!));
      return;
    case "ours-parse":
      parseSignedWebBundle(await readFile(args[0]!));
      return;
    case "reference-parse": {
      const bytes = await readFile(args[0]!);
      wbnSign.getBundleId(bytes);
      const length = bytes.readUInt32BE(bytes.length - 4);
      const bundle = new wbn.Bundle(bytes.subarray(bytes.length - length));
      for (const url of bundle.urls) bundle.getResponse(url);
      return;
    }
    default:
      throw new Error(`unknown child mode ${mode}`);
  }
}

interface Sample {
  seconds: number;
  peakMiB: number;
}

/** Runs a command under /usr/bin/time; its own output is discarded. */
function measure(command: string[]): Sample {
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", ...command], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const lines = result.stderr.trim().split("\n");
  if (result.status !== 0) throw new Error(`${command.join(" ")} failed:\n${result.stderr}`);
  const [seconds, kilobytes] = lines.at(-1)!.split(" ").map(Number);
  return { seconds: seconds!, peakMiB: kilobytes! / 1024 };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "browser-httpd-bench-bundle-"));
  try {
    const app = join(work, "app");
    await makeApp(app);
    const keyPath = join(work, "key.pem");
    await writeFile(keyPath, await exportPrivateKeyPem(await generateSigningKey("ed25519")), { mode: 0o600 });
    const ours = join(work, "ours.swbn");
    const reference = join(work, "reference.swbn");

    const rows: { task: string; ours: string[]; reference: string[] | null }[] = [
      {
        task: "build + sign",
        ours: [cli, "bundle", app, "--key", keyPath, "--out", ours],
        reference: [here, "reference-build", app, keyPath, reference],
      },
      { task: "parse (no signature check)", ours: [here, "ours-parse", ours], reference: [here, "reference-parse", reference] },
      { task: "verify (every signature)", ours: [here, "ours-verify", ours], reference: null },
    ];
    const results = [];
    for (const row of rows) {
      const oursSamples: Sample[] = [];
      const referenceSamples: Sample[] = [];
      for (let run = 0; run < RUNS; run++) {
        oursSamples.push(measure([process.execPath, ...row.ours]));
        if (row.reference) referenceSamples.push(measure([process.execPath, ...row.reference]));
      }
      const summary = (samples: Sample[]) =>
        samples.length ? { seconds: median(samples.map((s) => s.seconds)), peakMiB: median(samples.map((s) => s.peakMiB)) } : null;
      results.push({ task: row.task, ours: summary(oursSamples)!, reference: summary(referenceSamples) });
    }

    const baselineMiB = median(Array.from({ length: RUNS }, () => measure([process.execPath, here, "baseline"]).peakMiB));

    // Same key, same files: the two bundles must agree on the ID and both verify with our verifier.
    const oursBytes = await readFile(ours);
    const referenceBytes = await readFile(reference);
    const oursParsed = await verifySignedWebBundle(oursBytes);
    const referenceParsed = await verifySignedWebBundle(referenceBytes);
    if (oursParsed.webBundleId !== referenceParsed.webBundleId) throw new Error("the two bundles have different IDs");
    const bundleMiB = oursBytes.length / 2 ** 20;

    const lines = [
      `Signed Web Bundle, ${FILE_COUNT} files / ${(TOTAL_BYTES / 2 ** 20).toFixed(0)} MiB, Ed25519, median of ${RUNS} runs, ` +
        `each in its own process (node ${process.version}, ${cpus().length} cores).`,
      `bundle sizes: ours ${oursBytes.length} bytes (${bundleMiB.toFixed(1)} MiB, sha256 ${sha256(oursBytes)}), ` +
        `reference ${referenceBytes.length} bytes (index.html stored once more).`,
      "",
      "| task | browser-httpd time | wbn + wbn-sign time | time ratio | browser-httpd peak RSS | wbn + wbn-sign peak RSS | RSS ratio |",
      "|---|---|---|---|---|---|---|",
      ...results.map(({ task, ours: o, reference: r }) =>
        r
          ? `| ${task} | ${o.seconds.toFixed(2)} s | ${r.seconds.toFixed(2)} s | ${(o.seconds / r.seconds).toFixed(2)}× | ` +
            `${o.peakMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB | ${(o.peakMiB / r.peakMiB).toFixed(2)}× |`
          : `| ${task} | ${o.seconds.toFixed(2)} s | (none) | | ${o.peakMiB.toFixed(0)} MiB | | |`,
      ),
      "",
      `Peak RSS above the runtime's own (${baselineMiB.toFixed(0)} MiB, modules loaded, nothing done), relative to the ` +
        `bundle size: browser-httpd build ${((results[0]!.ours.peakMiB - baselineMiB) / bundleMiB).toFixed(2)}×, ` +
        `reference build ${((results[0]!.reference!.peakMiB - baselineMiB) / bundleMiB).toFixed(2)}×, ` +
        `browser-httpd verify ${((results[2]!.ours.peakMiB - baselineMiB) / bundleMiB).toFixed(2)}×.`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode) await child(mode, args);
else await main();
