#!/usr/bin/env node
/**
 * `npm start`: an incremental build of what `browser-httpd start` needs (src, app, launcher; tsconfig.start.json,
 * `tsc -b`), then `browser-httpd start` in this same process, told how long the build took so it can show it with
 * the other phases.
 *
 * When nothing changed since the last build, not even tsc runs (it takes 0.4 s just to find that out): every
 * source file and folder (a folder's time changes when a file is added, removed or renamed in it), the tsconfig
 * files, package.json and the TypeScript install must be older than the build info of the last successful build,
 * and every source must have its compiled .js. Anything else runs `tsc -b`, which decides for itself.
 *
 * Plain JavaScript, as it runs before anything is compiled. `npm test` and `npm run build` still compile the
 * whole tree (tsconfig.json).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const sourceDirs = ["src", "app", "launcher"];
const buildInfo = join(root, "dist", "tsconfig.start.tsbuildinfo");
const started = performance.now();

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Walks `dir` (relative to the root): calls `visit` with the time of the folder and of every entry, and reports
 * whether every TypeScript source has its compiled .js in dist/.
 */
function walk(dir, visit) {
  let complete = true;
  visit(mtimeMs(join(root, dir)));
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      complete = walk(path, visit) && complete;
      continue;
    }
    visit(mtimeMs(join(root, path)));
    if (/(?<!\.d)\.ts$/.test(entry.name) && !existsSync(join(root, "dist", path.replace(/\.ts$/, ".js")))) complete = false;
  }
  return complete;
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  process.stderr.write("browser-httpd start: TypeScript is not installed: run `npm install` first\n");
  process.exit(1);
}

const builtAt = mtimeMs(buildInfo);
let newest = 0;
const visit = (time) => {
  newest = Math.max(newest, time ?? Infinity);
};
const complete = sourceDirs.map((dir) => walk(dir, visit)).every(Boolean);
for (const file of ["tsconfig.json", "tsconfig.start.json", "package.json"]) visit(mtimeMs(join(root, file)));
visit(mtimeMs(dirname(tsc)));
visit(mtimeMs(join(dirname(tsc), "..")));

let note;
if (complete && builtAt !== undefined && newest < builtAt) {
  note = "skipped, nothing changed";
} else {
  const tscArgs = [tsc, "-b", "tsconfig.start.json"];
  // tsc -b trusts its build info: outputs deleted since the last build would not be written again.
  if (!complete) tscArgs.push("--force");
  const startedAt = new Date();
  const build = spawnSync(process.execPath, tscArgs, { cwd: root, stdio: "inherit" });
  if (build.status !== 0) {
    process.stderr.write(
      `browser-httpd start: the build failed (${build.error?.message ?? `tsc exited with ${build.status ?? build.signal}`})\n`,
    );
    process.exit(1);
  }
  // tsc leaves its build info as it was when it had nothing to do, and never looks at folders: date it to this
  // build's start, so that the next start can skip tsc, and anything changed since this build began still counts.
  try {
    utimesSync(buildInfo, startedAt, startedAt);
  } catch {
    // No build info: the next start runs tsc again.
  }
}
process.env.BROWSER_HTTPD_BUILD_MS = String(Math.round(performance.now() - started));
if (note) process.env.BROWSER_HTTPD_BUILD_NOTE = note;
const main = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));
process.argv = [process.argv[0], main, "start", ...process.argv.slice(2)];
await import(main);
