/**
 * `start` does not redo the app's build or its signature when nothing they depend on changed: the second
 * build with unchanged inputs keeps the staged files and the signed bundle as they are (no esbuild, no signing),
 * and a changed app file, source file, key, staged file or bundle builds or signs again; so does a change to the
 * user's module, what it imports, or the served folder's files. Runs `buildApp`, the
 * same function `launch()` (and so `browser-httpd start`) uses; no browser needed.
 */
import assert from "node:assert/strict";
import { appendFile, cp, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { packageRoot } from "../launcher/build-app.js";
import { buildApp, type BuiltApp } from "../launcher/launch.js";
import type { ServedApp } from "../launcher/served-app.js";
import { parseSignedWebBundle } from "../src/bundle/index.js";

describe("start's app build and signature are kept while their inputs are unchanged", { timeout: 120_000 }, () => {
  let dir: string;
  let appDir: string;
  let options: { keyPath: string; bundlePath: string; stagingDir: string; appDir: string };

  const build = (overrides: Partial<typeof options> = {}): Promise<BuiltApp> => buildApp({ ...options, ...overrides });
  const mtime = async (path: string) => (await stat(path)).mtimeMs;
  const bundleText = async () => {
    const { responses } = await parseSignedWebBundle(new Uint8Array(await readFile(options.bundlePath)));
    return [...responses.values()].map(({ body }) => new TextDecoder().decode(body)).join("\n");
  };

  before(async () => {
    // A copy of the app and of the sources it imports (app/main.ts imports ../src/), so that they can change;
    // the packages they import come from the project's node_modules.
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-build-cache-test-"));
    appDir = join(dir, "app");
    await cp(join(packageRoot, "app"), appDir, { recursive: true });
    await cp(join(packageRoot, "src"), join(dir, "src"), { recursive: true });
    await symlink(join(packageRoot, "node_modules"), join(dir, "node_modules"));
    options = {
      keyPath: join(dir, "key.pem"),
      bundlePath: join(dir, "out", "app.swbn"),
      stagingDir: join(dir, "out", "staging"),
      appDir,
    };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds and signs the first time, then reuses both without rewriting them", async () => {
    const first = await build();
    assert.equal(first.staged.reused, false);
    assert.equal(first.signed.reused, false);
    assert.equal(first.keyCreated, true);
    const bundleBytes = await readFile(options.bundlePath);
    const bundleTime = await mtime(options.bundlePath);
    const stagedTime = await mtime(join(options.stagingDir, "main.js"));

    const second = await build();
    assert.equal(second.staged.reused, true, "esbuild ran again");
    assert.equal(second.signed.reused, true, "signed again");
    assert.equal(second.keyCreated, false);
    assert.equal(second.signed.webBundleId, first.signed.webBundleId);
    assert.equal(second.signed.byteLength, first.signed.byteLength);
    assert.equal(second.signed.fileCount, first.signed.fileCount);
    assert.deepEqual(await readFile(options.bundlePath), bundleBytes);
    assert.equal(await mtime(options.bundlePath), bundleTime, "the bundle was rewritten");
    assert.equal(await mtime(join(options.stagingDir, "main.js")), stagedTime, "the staged files were rewritten");
  });

  it("re-signs when a static file of the app changed, with the new contents", async () => {
    await appendFile(join(appDir, "index.html"), "\n<!-- changed by the build cache test -->\n");
    const built = await build();
    assert.equal(built.staged.reused, false);
    assert.equal(built.signed.reused, false);
    assert.match(await bundleText(), /changed by the build cache test/);
    const again = await build();
    assert.equal(again.staged.reused && again.signed.reused, true);
  });

  it("rebuilds when a source file the app's scripts import changed; re-signs only when the built scripts differ", async () => {
    // Unused, so esbuild leaves it out: the staged scripts are the same, and so is the signature.
    await appendFile(join(dir, "src", "index.ts"), '\nexport const buildCacheTestUnused = "left out";\n');
    const same = await build();
    assert.equal(same.staged.reused, false, "esbuild did not run again");
    assert.equal(same.signed.reused, true, "signed again although the staged files are the same");

    await appendFile(join(dir, "src", "index.ts"), '\n(globalThis as Record<string, unknown>).buildCacheTestMarker = "changed source";\n');
    const changed = await build();
    assert.equal(changed.staged.reused, false);
    assert.equal(changed.signed.reused, false);
    assert.match(await bundleText(), /changed source/);
    assert.equal((await build()).signed.reused, true);
  });

  it("re-signs when a file is added to the app", async () => {
    await writeFile(join(appDir, "added.txt"), "a file added by the build cache test\n");
    const built = await build();
    assert.equal(built.signed.reused, false);
    assert.ok(built.staged.files.includes("added.txt"), built.staged.files.join(", "));
    assert.match(await bundleText(), /a file added by the build cache test/);
  });

  it("re-signs with another key, and goes back to the first key's bundle identity after", async () => {
    const first = await build();
    assert.equal(first.signed.reused, true);
    const other = await build({ keyPath: join(dir, "other-key.pem") });
    assert.equal(other.staged.reused, true, "the staged files do not depend on the key");
    assert.equal(other.signed.reused, false);
    assert.notEqual(other.signed.webBundleId, first.signed.webBundleId);
    const back = await build();
    assert.equal(back.signed.reused, false);
    assert.equal(back.signed.webBundleId, first.signed.webBundleId);
  });

  it("rebuilds when a staged file was changed, and re-signs a bundle that was changed or removed", async () => {
    await appendFile(join(options.stagingDir, "main.js"), "\n// tampered\n");
    const restaged = await build();
    assert.equal(restaged.staged.reused, false);
    assert.doesNotMatch(await readFile(join(options.stagingDir, "main.js"), "utf8"), /tampered/);

    const bytes = await readFile(options.bundlePath);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(options.bundlePath, bytes);
    const resigned = await build();
    assert.equal(resigned.staged.reused, true);
    assert.equal(resigned.signed.reused, false);

    await rm(options.bundlePath);
    assert.equal((await build()).signed.reused, false);
    assert.equal((await build()).signed.reused, true);
  });
});

describe("a user's module or folder in the build: kept while it and what it imports are unchanged", { timeout: 120_000 }, () => {
  let dir: string;
  let options: { keyPath: string; bundlePath: string; stagingDir: string };
  const build = (served: ServedApp): Promise<BuiltApp> => buildApp({ ...options, served });
  const mainScript = () => readFile(join(options.stagingDir, "main.js"), "utf8");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-build-cache-served-"));
    options = { keyPath: join(dir, "key.pem"), bundlePath: join(dir, "out", "app.swbn"), stagingDir: join(dir, "out", "staging") };
    await writeFile(join(dir, "app.ts"), 'import { word } from "./word.ts";\nexport default { fetch: () => new Response(word) };\n');
    await writeFile(join(dir, "word.ts"), 'export const word = "first word";\n');
    await writeFile(join(dir, "other.ts"), 'export default { fetch: () => new Response("the other module") };\n');
    await cp(join(packageRoot, "examples", "static-site"), join(dir, "site"), { recursive: true });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a module: reused; rebuilt when a file it imports changes, or for another module", async () => {
    const app = { module: join(dir, "app.ts") };
    assert.equal((await build(app)).staged.reused, false);
    assert.match(await mainScript(), /first word/);
    assert.equal((await build(app)).staged.reused, true);

    await writeFile(join(dir, "word.ts"), 'export const word = "second word";\n');
    assert.equal((await build(app)).staged.reused, false);
    assert.match(await mainScript(), /second word/);

    const other = await build({ module: join(dir, "other.ts") });
    assert.equal(other.staged.reused, false);
    assert.match(await mainScript(), /the other module/);
    assert.doesNotMatch(await mainScript(), /second word/);
  });

  it("a folder: its files staged under site/ (dotfiles left out); reused; rebuilt when a file changes or is added", async () => {
    await writeFile(join(dir, "site", ".env"), "SECRET=1\n");
    const site = { folder: join(dir, "site") };
    const first = await build(site);
    assert.equal(first.staged.reused, false);
    assert.ok(first.staged.files.includes("site/css/site.css"), first.staged.files.join(", "));
    assert.ok(!first.staged.files.includes("site/.env"), "a dotfile went into the bundle");
    assert.equal((await build(site)).staged.reused, true);

    await appendFile(join(dir, "site", "css", "site.css"), "\n/* changed */\n");
    const changed = await build(site);
    assert.equal(changed.staged.reused, false);
    assert.match(await readFile(join(options.stagingDir, "site", "css", "site.css"), "utf8"), /changed/);

    await writeFile(join(dir, "site", "new.txt"), "a new file\n");
    const added = await build(site);
    assert.equal(added.staged.reused, false);
    assert.ok(added.staged.files.includes("site/new.txt"));
  });
});
