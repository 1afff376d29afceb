/** Finding the browser: --chrome, then CHROME_PATH, then the usual names on PATH, in that order. */
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ChromiumNotFoundError, locateChromium } from "../launcher/find-chromium.js";

describe("locateChromium", () => {
  let dir: string;
  const fake = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-find-chromium-"));
    for (const name of ["chromium-browser", "google-chrome", "my-chrome"]) {
      await writeFile(fake(name), "#!/bin/sh\n");
      await chmod(fake(name), 0o755);
    }
    await writeFile(fake("not-executable"), "");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("takes --chrome over CHROME_PATH and PATH", () => {
    const env = { CHROME_PATH: fake("google-chrome"), PATH: dir };
    assert.equal(locateChromium({ explicitPath: fake("my-chrome"), env }), fake("my-chrome"));
  });

  it("takes CHROME_PATH over PATH", () => {
    assert.equal(locateChromium({ env: { CHROME_PATH: fake("my-chrome"), PATH: dir } }), fake("my-chrome"));
  });

  it("searches PATH for chromium, chromium-browser, google-chrome, ... in that order", () => {
    assert.equal(locateChromium({ env: { PATH: `/nonexistent:${dir}` } }), fake("chromium-browser"));
  });

  it("finds nothing on an empty PATH", () => {
    assert.equal(locateChromium({ env: { PATH: "/nonexistent" } }), undefined);
  });

  it("refuses a --chrome or CHROME_PATH that is not an executable, naming it", () => {
    assert.throws(
      () => locateChromium({ explicitPath: fake("not-executable"), env: {} }),
      (error: Error) =>
        error instanceof ChromiumNotFoundError && /^--chrome .*not-executable is not an executable file$/.test(error.message),
    );
    assert.throws(() => locateChromium({ explicitPath: dir, env: {} }), /is not an executable file$/);
    assert.throws(() => locateChromium({ env: { CHROME_PATH: fake("missing") } }), /CHROME_PATH .*missing is not an executable file$/);
  });
});
