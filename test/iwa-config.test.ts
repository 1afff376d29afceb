/**
 * A project config inside Chromium: `start ./app.ts` with a browser-httpd.config.json beside the module (name, a PNG
 * icon, included files), its options computed by `startOptions` as the CLI does and launched with the same launch():
 * Chromium installs the app with the config's name and icon, and the module, running in the app's window, reads an
 * included file from the bundle (`/site/...` of its own origin) and answers with it.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { startOptions } from "../src/cli/start.js";
import { appIcon } from "../src/node/png.js";
import { type Project, writeProject } from "./fixtures/app-module/project.js";
import { curl, launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";

const module = `export default {
  async fetch(request: Request) {
    if (new URL(request.url).pathname === "/included") return new Response(await (await fetch("/site/data/greeting.txt")).text());
    return new Response("configured app\\n");
  },
};
`;

describe("a project config inside Chromium", { timeout: 180_000 }, () => {
  let project: Project;
  let app: TestApp;

  before(async () => {
    project = await writeProject({
      "app.ts": module,
      "data/greeting.txt": "Hello from an included file\n",
      "browser-httpd.config.json": JSON.stringify({ name: "Configured App", icon: "icon.png", include: ["data/*.txt"] }),
    });
    await writeFile(project.path("icon.png"), appIcon(256));
    const options = await startOptions([project.path("app.ts")]);
    const { name, icon, include, served } = options!;
    app = await launchTestApp({ served, name, icon, include });
  });
  after(async () => {
    await app?.dispose();
    await project?.remove();
  });

  it("serves the module, which reads a file the config included from the bundle", async () => {
    assert.equal((await curl([app.url])).stdout.toString(), "configured app\n");
    assert.equal((await curl([`${app.url}included`])).stdout.toString(), "Hello from an included file\n");
  });

  it("installs the app with the config's name and icon", async () => {
    const manifest = await app.evaluateInApp<{ name: string; icons: unknown }>(
      "fetch('/.well-known/manifest.webmanifest').then((response) => response.json())",
    );
    assert.equal(manifest.name, "Configured App");
    assert.deepEqual(manifest.icons, [{ src: "/icon.png", sizes: "256x256", type: "image/png", purpose: "any" }]);
    const icon = await app.evaluateInApp<{ type: string; size: number }>(
      "fetch('/icon.png').then(async (response) => ({ type: response.headers.get('content-type'), size: (await response.arrayBuffer()).byteLength }))",
    );
    assert.deepEqual(icon, { type: "image/png", size: appIcon(256).length });
  });
});
