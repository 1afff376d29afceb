/**
 * Builds the Isolated Web App: bundles its scripts with esbuild into a staging folder next to its static
 * files, then signs that folder into a Signed Web Bundle with the project's key (made on first use).
 */
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { listFiles } from "../src/cli/list-files.js";

/** The repository (or installed package) root: this file runs from dist/launcher/. */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Script entry points of the app, relative to app/; each becomes the same path with .js in the staging folder. */
const entryPoints = ["main.ts", "builder/builder.ts"];

export interface StageAppOptions {
  appDir?: string;
  stagingDir?: string;
}

export interface StagedApp {
  stagingDir: string;
  /** Paths relative to the staging folder, with forward slashes. */
  files: string[];
  version: string;
}

async function loadEsbuild(): Promise<typeof import("esbuild")> {
  try {
    return await import("esbuild");
  } catch {
    throw new Error("esbuild is not installed: run `npm install` in the browser-httpd folder first");
  }
}

/** Bundles the app's scripts and copies its other files; the manifest gets the package's version. */
export async function stageApp({
  appDir = join(packageRoot, "app"),
  stagingDir = join(packageRoot, "dist", "iwa"),
}: StageAppOptions = {}): Promise<StagedApp> {
  const { version } = JSON.parse(await readFile(join(packageRoot, "package.json"), "utf8")) as { version: string };
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(stagingDir, { recursive: true });

  const esbuild = await loadEsbuild();
  const result = await esbuild
    .build({
    entryPoints: Object.fromEntries(entryPoints.map((entry) => [entry.replace(/\.ts$/, ""), join(appDir, entry)])),
    outdir: stagingDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    charset: "utf8",
    legalComments: "none",
    logLevel: "silent",
  })
    // esbuild keeps a helper process for later builds; there are none.
    .finally(() => esbuild.stop());
  for (const warning of result.warnings) {
    process.stderr.write(`esbuild: ${warning.text} (${warning.location?.file ?? "?"})\n`);
  }

  for (const file of await listFiles(appDir)) {
    if (file.endsWith(".ts")) continue;
    const target = join(stagingDir, file);
    await mkdir(dirname(target), { recursive: true });
    if (file === ".well-known/manifest.webmanifest") {
      const manifest = JSON.parse(await readFile(join(appDir, file), "utf8")) as Record<string, unknown>;
      await writeFile(target, JSON.stringify({ ...manifest, version }, null, 2) + "\n");
    } else {
      await copyFile(join(appDir, file), target);
    }
  }
  return { stagingDir, files: await listFiles(stagingDir), version };
}
