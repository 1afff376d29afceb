/**
 * What Chromium installs is what was signed: the app is built and signed, the dev-mode proxy serves the
 * verified bundle's responses byte for byte, and a bundle that does not verify is never served.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadOrCreateSigningKey, readSignedBundle, signApp } from "../launcher/app-bundle.js";
import { stageApp } from "../launcher/build-app.js";
import { type DevProxy, startDevProxy } from "../launcher/dev-proxy.js";
import { parseSignedWebBundle } from "../src/bundle/index.js";

describe("the signed app and its dev-mode proxy", { timeout: 60_000 }, () => {
  let dir: string;
  let bundlePath: string;
  let proxy: DevProxy;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-dev-proxy-"));
    const staged = await stageApp({ stagingDir: join(dir, "staging") });
    const { key } = await loadOrCreateSigningKey(join(dir, "key.pem"));
    bundlePath = join(dir, "app.swbn");
    await signApp({ stagingDir: staged.stagingDir, files: staged.files, key, bundlePath });
    proxy = await startDevProxy((await readSignedBundle(bundlePath)).responses);
  });
  after(async () => {
    await proxy?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("signs the app's pages, scripts, manifest and icon", async () => {
    const { responses } = parseSignedWebBundle(new Uint8Array(await readFile(bundlePath)));
    const paths = [...responses.keys()].map((url) => new URL(url).pathname).sort();
    const expected = ["/", "/index.html", "/main.js", "/panel.css", "/icon.svg", "/.well-known/manifest.webmanifest"];
    for (const path of [...expected, "/builder/builder.html", "/builder/builder.js"]) {
      assert.ok(paths.includes(path), `${path} missing from ${paths.join(", ")}`);
    }
    const [, manifestResponse] = [...responses].find(([url]) => url.endsWith("/manifest.webmanifest"))!;
    const manifest = JSON.parse(new TextDecoder().decode(manifestResponse.body)) as Record<string, unknown>;
    const { version } = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(manifest.version, version);
    assert.deepEqual(manifest.permissions_policy, { "cross-origin-isolated": ["self"], "direct-sockets": ["self"] });
  });

  it("serves every response of the bundle byte for byte, with its headers", async () => {
    const { responses } = parseSignedWebBundle(new Uint8Array(await readFile(bundlePath)));
    for (const [url, stored] of responses) {
      const served = await fetch(new URL(new URL(url).pathname, proxy.url));
      assert.equal(served.status, stored.status, url);
      assert.deepEqual(new Uint8Array(await served.arrayBuffer()), stored.body, url);
      for (const [name, value] of Object.entries(stored.headers)) {
        assert.equal(served.headers.get(name), value, `${url} ${name}`);
      }
    }
  });

  it("answers 404 for a path not in the bundle and 405 for other methods", async () => {
    const missing = await fetch(new URL("/not-signed.js", proxy.url));
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.equal((await fetch(new URL("/index.html", proxy.url), { method: "POST", body: "x" })).status, 405);
  });

  it("refuses to serve a bundle whose bytes changed after signing", async () => {
    const bytes = new Uint8Array(await readFile(bundlePath));
    const text = new TextDecoder("latin1").decode(bytes);
    const at = text.indexOf("Hello, world!");
    assert.ok(at > 0, "the demo's greeting is in the bundle");
    bytes[at] = "J".charCodeAt(0);
    const tampered = join(dir, "tampered.swbn");
    await writeFile(tampered, bytes);
    await assert.rejects(readSignedBundle(tampered), /tampered\.swbn does not verify, so it will not be served/);
  });
});
