/**
 * Builds the Isolated Web App: bundles its scripts with esbuild into a staging folder next to its static
 * files, then signs that folder into a Signed Web Bundle with the project's key (made on first use).
 *
 * What the app serves is the demo, or the user's module or folder put in its place (served-app.ts): a folder's files
 * are staged under site/.
 *
 * A build leaves a stamp beside the staging folder (`<stagingDir>.stamp.json`): the digest of every input
 * (the scripts esbuild read, the user's module and what it imports among them, the static files and the served
 * folder's, the package version, esbuild's version and options, what is served, tsconfig.json) and of every
 * staged file. When the inputs and the staged files still match it, the folder is used as it is and esbuild
 * does not run.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { listFiles } from "../src/node/list-files.js";
import { type ServedApp, servedAppPlugin, servedNamespace, siteFiles, siteFolder } from "./served-app.js";

/** The repository (or installed package) root: this file runs from dist/launcher/. */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Script entry points of the app, relative to app/; each becomes the same path with .js in the staging folder. */
const entryPoints = ["main.ts", "builder/builder.ts"];

/** Changing this (or esbuild's version) invalidates every stamp. */
const esbuildOptions = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "chrome120",
  charset: "utf8",
  legalComments: "none",
  logLevel: "silent",
} as const;

/** What a project config (src/cli/config.ts) adds to the app: its name, its icon, more files in the bundle. */
export interface AppExtras {
  /** The app's name in its manifest (name and short_name). */
  name?: string;
  /** A PNG (absolute path): staged as icon.png, the manifest's only icon. */
  icon?: string;
  /** Files put into the bundle below site/ (`path`, with "/"), read from `source`. */
  include?: ReadonlyArray<{ source: string; path: string }>;
}

export interface StageAppOptions extends AppExtras {
  appDir?: string;
  stagingDir?: string;
  /** What the app serves; the demo without it. */
  served?: ServedApp;
}

/** Where a config's icon goes in the bundle. */
export const iconFile = "icon.png";

/** Width and height of a PNG, from its IHDR chunk (bytes 16–23). */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export interface StagedApp {
  stagingDir: string;
  /** Paths relative to the staging folder, with forward slashes. */
  files: string[];
  version: string;
  /** SHA-256 (hex) of each staged file, by path. */
  digests: Record<string, string>;
  /** True when the staging folder of an earlier build matched the inputs and was kept as it was. */
  reused: boolean;
}

interface StageStamp {
  format: 2;
  /** Digest of everything that decides the build besides the input files: options, versions, entry points. */
  setup: string;
  /** Every input file (absolute path) and its SHA-256. */
  inputs: Record<string, string>;
  /** The static files of the app folder (relative paths), so that an added file is noticed. */
  appFiles: string[];
  /** The served folder's files (relative paths), so that an added one is noticed. */
  siteFiles: string[];
  /** Every staged file (relative path) and its SHA-256. */
  outputs: Record<string, string>;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function digestOf(path: string): Promise<string | undefined> {
  return readFile(path).then(sha256, () => undefined);
}

async function loadEsbuild(): Promise<typeof import("esbuild")> {
  try {
    return await import("esbuild");
  } catch {
    throw new Error("esbuild is not installed: run `npm install` in the browser-httpd folder first");
  }
}

function esbuildVersion(): string {
  try {
    const path = createRequire(import.meta.url).resolve("esbuild/package.json");
    return (createRequire(import.meta.url)(path) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The tsconfig.json esbuild reads for the app: the nearest one at or above the app folder. */
function nearestTsconfig(appDir: string): string | undefined {
  for (let dir = resolve(appDir); ; dir = dirname(dir)) {
    const candidate = join(dir, "tsconfig.json");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function stampPath(stagingDir: string): string {
  return `${stagingDir.replace(/[\\/]+$/, "")}.stamp.json`;
}

async function setupDigest(appDir: string, version: string, served: ServedApp | undefined, extras: AppExtras): Promise<string> {
  const tsconfig = nearestTsconfig(appDir);
  return sha256(
    JSON.stringify({
      name: extras.name ?? null,
      icon: extras.icon ?? null,
      include: extras.include ?? [],
      version,
      esbuild: esbuildVersion(),
      esbuildOptions,
      entryPoints,
      appDir: resolve(appDir),
      served: served === undefined ? "demo" : "module" in served ? { module: resolve(served.module) } : { folder: resolve(served.folder) },
      tsconfig: tsconfig === undefined ? "none" : `${tsconfig} ${(await digestOf(tsconfig)) ?? "unreadable"}`,
    }),
  );
}

/** The earlier build's staging folder, when the stamp beside it still describes the inputs and the folder. */
async function reusableStage(stagingDir: string, appDir: string, setup: string, site: readonly string[]): Promise<StagedApp | undefined> {
  let stamp: StageStamp;
  try {
    stamp = JSON.parse(await readFile(stampPath(stagingDir), "utf8")) as StageStamp;
  } catch {
    return undefined;
  }
  if (stamp.format !== 2 || stamp.setup !== setup) return undefined;
  const appFiles = (await listFiles(appDir)).filter((file) => !file.endsWith(".ts"));
  if (JSON.stringify(appFiles) !== JSON.stringify(stamp.appFiles)) return undefined;
  if (JSON.stringify(site) !== JSON.stringify(stamp.siteFiles)) return undefined;
  const checks = [
    ...Object.entries(stamp.inputs).map(([path, digest]) => [path, digest] as const),
    ...Object.entries(stamp.outputs).map(([path, digest]) => [join(stagingDir, path), digest] as const),
  ];
  const actual = await Promise.all(checks.map(([path]) => digestOf(path)));
  if (actual.some((digest, index) => digest !== checks[index]![1])) return undefined;
  const files = await listFiles(stagingDir).catch(() => []);
  if (JSON.stringify(files) !== JSON.stringify(Object.keys(stamp.outputs).sort())) return undefined;
  return { stagingDir, files, version: "", digests: stamp.outputs, reused: true };
}

/**
 * Bundles the app's scripts and copies its other files; the manifest gets the package's version. An earlier
 * build whose inputs and staged files are unchanged (see the stamp above) is kept instead.
 */
export async function stageApp({
  appDir = join(packageRoot, "app"),
  stagingDir = join(packageRoot, "dist", "iwa"),
  served,
  ...extras
}: StageAppOptions = {}): Promise<StagedApp> {
  const { version } = JSON.parse(await readFile(join(packageRoot, "package.json"), "utf8")) as { version: string };
  const setup = await setupDigest(appDir, version, served, extras);
  const folder = served && "folder" in served ? resolve(served.folder) : undefined;
  const site = folder === undefined ? [] : await siteFiles(folder);
  const reused = await reusableStage(stagingDir, appDir, setup, site);
  if (reused) return { ...reused, version };

  // Built beside the staging folder and moved into place, so a reader never sees a half-written folder for long.
  const building = `${stagingDir.replace(/[\\/]+$/, "")}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  try {
    const esbuild = await loadEsbuild();
    const absWorkingDir = resolve(appDir);
    const result = await esbuild
      .build({
        ...esbuildOptions,
        entryPoints: Object.fromEntries(entryPoints.map((entry) => [entry.replace(/\.ts$/, ""), join(appDir, entry)])),
        outdir: building,
        absWorkingDir,
        metafile: true,
        write: false,
        plugins: served ? [await servedAppPlugin(served, appDir, site)] : [],
      })
      // esbuild keeps a helper process for later builds; there are none.
      .finally(() => esbuild.stop());
    for (const warning of result.warnings) {
      process.stderr.write(`esbuild: ${warning.text} (${warning.location?.file ?? "?"})\n`);
    }
    const outputs: Record<string, string> = {};
    for (const output of result.outputFiles) {
      await mkdir(dirname(output.path), { recursive: true });
      await writeFile(output.path, output.contents);
      outputs[
        output.path
          .slice(building.length + 1)
          .split(/[\\/]/)
          .join("/")
      ] = sha256(output.contents);
    }
    const inputs: Record<string, string> = {};
    for (const input of Object.keys(result.metafile.inputs)) {
      if (input.startsWith(`${servedNamespace}:`)) continue;
      const path = resolve(absWorkingDir, input);
      inputs[path] = (await digestOf(path)) ?? "missing";
    }

    const appFiles = (await listFiles(appDir)).filter((file) => !file.endsWith(".ts"));
    for (const file of appFiles) {
      const target = join(building, file);
      await mkdir(dirname(target), { recursive: true });
      if (file === ".well-known/manifest.webmanifest") {
        const source = await readFile(join(appDir, file));
        inputs[resolve(appDir, file)] = sha256(source);
        const manifest = JSON.parse(source.toString("utf8")) as Record<string, unknown>;
        if (extras.name !== undefined) Object.assign(manifest, { name: extras.name, short_name: extras.name });
        if (extras.icon !== undefined) {
          const { width, height } = pngSize(await readFile(extras.icon));
          manifest.icons = [{ src: `/${iconFile}`, sizes: `${width}x${height}`, type: "image/png", purpose: "any" }];
        }
        await writeFile(target, JSON.stringify({ ...manifest, version }, null, 2) + "\n");
      } else {
        await copyFile(join(appDir, file), target);
      }
      outputs[file] = (await digestOf(target))!;
    }
    for (const file of site) {
      const target = join(building, siteFolder, file);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(join(folder!, file), target);
      outputs[`${siteFolder}/${file}`] = (await digestOf(target))!;
    }
    // The config's icon and included files, digested from what was copied like the static inputs below.
    const copies = [
      ...(extras.icon === undefined ? [] : [{ source: extras.icon, path: iconFile }]),
      ...(extras.include ?? []).map(({ source, path }) => ({ source, path: `${siteFolder}/${path}` })),
    ];
    for (const { source, path } of copies) {
      const target = join(building, path);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(source, target);
      outputs[path] = (await digestOf(target))!;
      inputs[source] = outputs[path]!;
    }
    // Static inputs are digested from what was copied: a file changed meanwhile is caught by the next start.
    for (const file of appFiles) inputs[resolve(appDir, file)] ??= outputs[file]!;
    for (const file of site) inputs[join(folder!, file)] = outputs[`${siteFolder}/${file}`]!;

    await rm(stagingDir, { recursive: true, force: true });
    await rm(stampPath(stagingDir), { force: true });
    await mkdir(dirname(stagingDir), { recursive: true });
    await rename(building, stagingDir);
    const stamp: StageStamp = { format: 2, setup, inputs, appFiles, siteFiles: site, outputs };
    await writeFile(stampPath(stagingDir), JSON.stringify(stamp, null, 1) + "\n");
    const files = await listFiles(stagingDir);
    return { stagingDir, files, version, digests: outputs, reused: false };
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}
