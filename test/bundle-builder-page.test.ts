/**
 * The in-app builder page (app/builder) in Chromium, served as the IWA serves it: bundled by esbuild, every
 * response with the IWA headers (COOP/COEP/CORP and the IWA CSP, Trusted Types included). It builds and signs
 * with Web Crypto in the page; Node checks the result. With Node's Ed25519 key the page's bundle is
 * byte-identical to Node's own build of the same files.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import * as esbuild from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import {
  buildSignedWebBundle,
  exportPrivateKeyPem,
  generateSigningKey,
  iwaResponseHeaders,
  verifySignedWebBundle,
} from "../src/bundle/index.js";
import { bundleFixtures, fixtureFiles, projectRoot } from "./fixtures/bundle/harness.js";

const fixtureApp = join(bundleFixtures, "app");
const chromiumPath = process.env.CHROME_PATH ?? "/usr/bin/chromium";
const stepTimeoutMs = 60_000;

describe("builder page in Chromium", () => {
  let siteDir: string;
  let server: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    siteDir = await mkdtemp(join(tmpdir(), "browser-httpd-builder-page-"));
    await esbuild.build({
      entryPoints: [join(projectRoot, "app", "builder", "builder.ts")],
      outfile: join(siteDir, "builder", "builder.js"),
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "chrome120",
      logLevel: "silent",
    });
    for (const file of ["builder/builder.html", "builder/builder.css", "panel.css", "icon.svg"]) {
      await copyFile(join(projectRoot, "app", file), join(siteDir, file));
    }
    server = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
      readFile(join(siteDir, ...path.split("/").filter((segment) => segment && segment !== "..")))
        .then((body) => {
          response.writeHead(200, iwaResponseHeaders(path));
          response.end(body);
        })
        .catch(() => {
          response.writeHead(404, iwaResponseHeaders("/missing.txt"));
          response.end("not found");
        });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"], timeout: stepTimeoutMs });
    page = await browser.newPage({ acceptDownloads: true });
    page.setDefaultTimeout(stepTimeoutMs);
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/builder/builder.html`);
    await page.waitForFunction(() => typeof window.buildBundleFromFiles === "function");
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rm(siteDir, { recursive: true, force: true });
  });

  it("loads under the IWA CSP without errors and is cross-origin isolated", async () => {
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
    assert.deepEqual(pageErrors, []);
  });

  it("buildBundleFromFiles with Node's Ed25519 key gives Node's bytes exactly", async () => {
    const key = await generateSigningKey("ed25519");
    const app = await fixtureFiles("app");
    const expected = await buildSignedWebBundle({ files: app, keys: [key], version: "9.9.9" });
    // What the page receives: plain arrays survive the trip through page.evaluate.
    const files = app.map(({ path, body }) => ({ path, bytes: [...(body as Uint8Array)] }));
    const keyText = await exportPrivateKeyPem(key);
    const bytes = await page.evaluate(
      async ({ files, keyText }) => {
        const inputs = files.map(({ path, bytes }) => ({ path, body: new Blob([Uint8Array.from(bytes)]) }));
        return [...(await window.buildBundleFromFiles(inputs, { keyText, version: "9.9.9" }))];
      },
      { files, keyText },
    );
    assert.deepEqual(Uint8Array.from(bytes), expected.bytes);
    assert.match((await page.textContent("#status")) ?? "", new RegExp(`Web Bundle ID ${expected.webBundleId}`));
  });

  it("the picker, key generation and Build button produce a download that verifies", async () => {
    await page.selectOption("#algorithm", "ecdsa-p256");
    await page.click("#generate-key");
    await page.waitForFunction(() => document.querySelector("#key-summary")?.textContent?.includes("Web Bundle ID"));
    const keySummary = (await page.textContent("#key-summary")) ?? "";
    const id = /Web Bundle ID ([a-z2-7]+)/.exec(keySummary)?.[1];
    assert.ok(id, keySummary);

    await page.setInputFiles("#pick-folder", fixtureApp);
    assert.match((await page.textContent("#file-summary")) ?? "", /^6 files, /);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#build")]);
    assert.equal(download.suggestedFilename(), "app.swbn");
    const path = await download.path();
    const verified = await verifySignedWebBundle(new Uint8Array(await readFile(path)), id);
    assert.deepEqual(
      verified.signatures.map((signature) => signature.algorithm),
      ["ecdsa-p256"],
    );
    assert.ok(verified.responses.has(`isolated-app://${id}/.well-known/manifest.webmanifest`));
    assert.ok(verified.responses.has(`isolated-app://${id}/docs/read%20me.txt`));
    assert.equal(await page.isHidden("#download-bundle"), false);
    assert.deepEqual(pageErrors, []);
  });

  it("shows a manifest problem instead of building", async () => {
    await page.setInputFiles("#pick-folder", join(bundleFixtures, "manifest", "manifest-icon"));
    await page.click("#build");
    await page.waitForFunction(() => document.querySelector<HTMLElement>("#status")?.dataset.kind === "error");
    assert.match((await page.textContent("#status")) ?? "", /^\[manifest-icon\] no usable icon .*icon \/icon.png is really 16x16/);
    const direct = await page.evaluate(() =>
      window.buildBundleFromFiles([{ path: "index.html", body: "<p>no manifest</p>" }]).then(
        () => "built",
        (error: Error) => error.message,
      ),
    );
    assert.match(direct, /^\[manifest-present\] /);
  });
});
