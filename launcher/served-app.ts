/**
 * What the IWA serves: the demo app (app/served-app.ts), the user's app module, or a folder's files. The module is
 * checked on Node before any browser starts; the app build (build-app.ts) then bundles stand-ins for
 * app/served-app.ts (the module, or the folder's files copied into the bundle and served by app/static-app.ts) and
 * app/served-name.ts.
 */
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Plugin } from "esbuild";
import { bundleAppModule, displayName, importAppBundle, packageEntryPoints, staticFolder } from "../src/node/app-module.js";
import { listFiles } from "../src/node/list-files.js";
import { appModuleOf } from "../src/server/app-module.js";

export type ServedApp = { module: string } | { folder: string };

/** Where the folder's files go in the bundle (and so below the app's origin). */
export const siteFolder = "site";
/** The esbuild namespace of the stand-in modules: they are no files. */
export const servedNamespace = "browser-httpd-served-app";

/** How the panel and the CLI name what is served. */
export function servedName(served: ServedApp): string {
  return "module" in served ? displayName(served.module) : `${displayName(served.folder)} (static files)`;
}

/**
 * Checks what is to be served before Chromium starts, and returns the module's port when it has one. A module is
 * bundled for the browser (a syntax error, an import that does not resolve, no default export fail here) and, when it
 * loads on Node, checked against the contract. One that needs the browser to load (a `document` at its top level) is
 * checked by the app when it starts.
 */
export async function checkServedApp(served: ServedApp, log: (line: string) => void): Promise<{ port?: number }> {
  if ("folder" in served) {
    await staticFolder(served.folder);
    return {};
  }
  const bundle = await bundleAppModule(served.module, "browser");
  let namespace: Record<string, unknown>;
  try {
    namespace = await importAppBundle(bundle);
  } catch (error) {
    log(`${bundle.file} does not load on Node (${(error as Error).message}): the app checks its default export when it starts.`);
    return {};
  }
  return { port: appModuleOf(namespace, bundle.file).port };
}

/** The folder's files that go into the bundle: every one but dotfiles (served 404 anyway; secrets stay out of the bundle). */
export async function siteFiles(folder: string): Promise<string[]> {
  return (await listFiles(folder)).filter((path) => !path.split("/").some((name) => name.startsWith(".") && name !== ".well-known"));
}

/**
 * The stand-ins for app/served-app.ts and app/served-name.ts, imported by app/main.ts: the module re-exported, or
 * the folder's files (given with their modification times) served; and its name. Imports of browser-httpd in the
 * user's code get the sources the app is built from, so that the bundle holds one copy.
 */
export async function servedAppPlugin(served: ServedApp, appDir: string, files: readonly string[]): Promise<Plugin> {
  const sourceRoot = resolve(appDir, "..", "src");
  const entries = packageEntryPoints();
  const contents: Record<string, string> = {
    name: `export const source = ${JSON.stringify(servedName(served))};\nexport const tryPath = "";\n`,
  };
  if ("module" in served) {
    contents.app = `export { default } from ${JSON.stringify(resolve(served.module))};\n`;
  } else {
    const folder = resolve(served.folder);
    const times = await Promise.all(files.map(async (path) => [path, Math.trunc((await stat(join(folder, path))).mtimeMs)] as const));
    contents.app =
      `import { staticApp } from ${JSON.stringify(join(resolve(appDir), "static-app.ts"))};\n` +
      `export default await staticApp(${JSON.stringify(siteFolder)}, ${JSON.stringify(times)});\n`;
  }
  const main = join(resolve(appDir), "main.ts");
  return {
    name: "browser-httpd-served-app",
    setup(build) {
      build.onResolve({ filter: /^\.\/served-(app|name)\.js$/ }, ({ path, importer }) =>
        importer === main ? { path: path.slice("./served-".length, -".js".length), namespace: servedNamespace } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: servedNamespace }, ({ path }) => ({
        contents: contents[path],
        loader: "ts",
        resolveDir: resolve(appDir),
      }));
      build.onResolve({ filter: /^browser-httpd(\/|$)/ }, ({ path }) => {
        const module = entries.get(path);
        return module === undefined ? undefined : { path: join(sourceRoot, `${module}.ts`) };
      });
    },
  };
}
