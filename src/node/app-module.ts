/**
 * An app module (src/server/app-module.ts) loaded on Node: esbuild bundles the file, TypeScript or JavaScript, with
 * the packages it imports from the user's node_modules, into one .mjs in a temporary folder, which is imported and
 * then removed. Errors name the file: a missing one, a syntax error or an import that does not resolve (file:line:
 * column, from esbuild), no default export, a default export that breaks the contract.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildFailure, Message, Plugin } from "esbuild";
import { AppModuleError, type AppModule, appModuleOf, noDefaultExport } from "../server/app-module.js";

export type Platform = "node" | "browser";

export interface AppBundle {
  /** The module's file as errors name it: relative to the working directory when it is inside it. */
  file: string;
  code: string;
  /** Where the bundle is imported from: its source map points back to the sources from there. */
  outfile: string;
}

/**
 * What `import "browser-httpd"` (and its subpaths) names, from package.json's exports: specifier → module below
 * src/ without extension ("browser-httpd/bundle" → "bundle/index"). App modules get this package's own copy.
 */
export function packageEntryPoints(): Map<string, string> {
  const packageJson = new URL("../../../package.json", import.meta.url);
  const { name, exports } = JSON.parse(readFileSync(packageJson, "utf8")) as { name: string; exports: Record<string, string> };
  return new Map(
    Object.entries(exports).map(([subpath, target]) => [
      name + subpath.slice(1),
      target.replace(/^\.\/dist\/src\//, "").replace(/\.js$/, ""),
    ]),
  );
}

/** Imports of browser-httpd stay imports of the copy running this code, so that the app and the server share it. */
function ownPackage(): Plugin {
  const entries = packageEntryPoints();
  return {
    name: "browser-httpd-own-package",
    setup(build) {
      build.onResolve({ filter: /^browser-httpd(\/|$)/ }, ({ path }) => {
        const module = entries.get(path);
        return module === undefined ? undefined : { path: new URL(`../${module}.js`, import.meta.url).href, external: true };
      });
    },
  };
}

export function displayName(path: string): string {
  const fromHere = relative(process.cwd(), resolve(path));
  return fromHere.startsWith("..") || isAbsolute(fromHere) ? resolve(path) : fromHere;
}

function buildErrors(file: string, errors: readonly Message[], platform: Platform): AppModuleError {
  const lines = errors.map(({ location, text }) => {
    const hint =
      platform === "browser" && /^Could not resolve "node:/.test(text) ? " (the app runs in Chromium, which has no node:* modules)" : "";
    return `${location ? `${location.file}:${location.line}:${location.column + 1}` : file}: ${text}${hint}`;
  });
  const inEntry = lines.every((line) => line.startsWith(`${file}:`));
  return new AppModuleError(file, errors[0]!.text, inEntry ? lines.join("\n") : `${file} does not build:\n  ${lines.join("\n  ")}`);
}

/** Bundles the module at `path` for `platform`; throws an AppModuleError for a missing file, a build error, no default export. */
export async function bundleAppModule(path: string, platform: Platform): Promise<AppBundle> {
  const file = displayName(path);
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new AppModuleError(file, error.code === "ENOENT" ? "no such file" : error.message);
  });
  if (info.isDirectory()) throw new AppModuleError(file, "is a folder, not a module (to serve the files in it: --static DIR)");
  const outfile = join(tmpdir(), `browser-httpd-app-${randomUUID()}`, `${basename(path)}.mjs`);
  const esbuild = await import("esbuild");
  const result = await esbuild
    .build({
      entryPoints: [resolve(path)],
      absWorkingDir: process.cwd(),
      outfile,
      bundle: true,
      format: "esm",
      platform,
      target: platform === "node" ? "node20" : "chrome120",
      // Packages written as CommonJS call require(); an ES module has none of its own.
      banner:
        platform === "node"
          ? { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' }
          : {},
      sourcemap: "inline",
      metafile: true,
      write: false,
      logLevel: "silent",
      plugins: [ownPackage()],
    })
    .catch((error: BuildFailure) => {
      throw error.errors?.length ? buildErrors(file, error.errors, platform) : error;
    })
    // esbuild keeps a helper process for later builds; there are none.
    .finally(() => esbuild.stop());
  const exports = Object.values(result.metafile!.outputs).find((output) => output.entryPoint)?.exports ?? [];
  if (!exports.includes("default")) throw noDefaultExport(file);
  return { file, code: result.outputFiles![0]!.text, outfile };
}

/** Evaluates a bundle on this Node and returns its namespace; what the module throws is thrown as it is. */
export async function importAppBundle(bundle: AppBundle): Promise<Record<string, unknown>> {
  await mkdir(dirname(bundle.outfile), { recursive: true });
  try {
    await writeFile(bundle.outfile, bundle.code);
    return (await import(pathToFileURL(bundle.outfile).href)) as Record<string, unknown>;
  } finally {
    await rm(dirname(bundle.outfile), { recursive: true, force: true });
  }
}

/** Checks that `path` is a folder to serve with --static; returns its absolute path. */
export async function staticFolder(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${displayName(path)}: no such folder (--static serves a folder)`);
  if (!info.isDirectory())
    throw new Error(`${displayName(path)}: is a file, not a folder (to run it as an app module, leave out --static)`);
  return resolve(path);
}

/** The app of the module at `path`, bundled for Node, loaded and checked. */
export async function loadAppModule(path: string): Promise<AppModule> {
  const bundle = await bundleAppModule(path, "node");
  // Errors thrown by the app's own code then point at its sources.
  process.setSourceMapsEnabled(true);
  const namespace = await importAppBundle(bundle).catch((error: unknown) => {
    throw new AppModuleError(
      bundle.file,
      `threw while loading: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  });
  return appModuleOf(namespace, bundle.file);
}
