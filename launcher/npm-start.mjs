#!/usr/bin/env node
/**
 * `npm start`: an incremental build of what `browser-httpd start` needs (src, app, launcher; tsconfig.start.json,
 * `tsc -b`, which does nothing when nothing changed since its last build), then `browser-httpd start` in this
 * same process, told how long the build took so it can show it with the other phases.
 *
 * Plain JavaScript, as it runs before anything is compiled. `npm test` and `npm run build` still compile the
 * whole tree (tsconfig.json).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const started = performance.now();
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  process.stderr.write("browser-httpd start: TypeScript is not installed: run `npm install` first\n");
  process.exit(1);
}
/** Sources (relative to the root) under `dir` whose compiled .js is not in dist/. */
function missingOutputs(dir) {
  const missing = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) missing.push(...missingOutputs(path));
    else if (/(?<!\.d)\.ts$/.test(entry.name) && !existsSync(join(root, "dist", path.replace(/\.ts$/, ".js")))) missing.push(path);
  }
  return missing;
}

const tscArgs = [tsc, "-b", "tsconfig.start.json"];
// tsc -b trusts its build info: outputs deleted since the last build would not be written again.
if (["src", "app", "launcher"].some((dir) => missingOutputs(dir).length > 0)) tscArgs.push("--force");
const build = spawnSync(process.execPath, tscArgs, { cwd: root, stdio: "inherit" });
if (build.status !== 0) {
  process.stderr.write(`browser-httpd start: the build failed (${build.error?.message ?? `tsc exited with ${build.status ?? build.signal}`})\n`);
  process.exit(1);
}
process.env.BROWSER_HTTPD_BUILD_MS = String(Math.round(performance.now() - started));
const main = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));
process.argv = [process.argv[0], main, "start", ...process.argv.slice(2)];
await import(main);
