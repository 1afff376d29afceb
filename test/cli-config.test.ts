/**
 * The project config of `start` and `serve` (browser-httpd.config.json / .mjs / .js, or package.json's
 * "browser-httpd" field): each bad config refused with the file and the rule, by `serve` and by `start` before any
 * browser starts; where it is found and what wins (flags over the config, the config over the module); `serve`
 * listening on the config's port; `start`'s launch options computed from it (`startOptions`, what `start` runs), and
 * its name, icon and included files in the signed bundle `start` builds (`buildApp`, no browser needed); and `start`
 * refusing port 0 from the flag, the config or the module.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readSignedBundle } from "../launcher/app-bundle.js";
import { buildApp } from "../launcher/launch.js";
import { startOptions } from "../src/cli/start.js";
import { appIcon } from "../src/node/png.js";
import { withTimeout } from "./fixtures/http/harness.js";
import { freePort } from "./fixtures/iwa/free-port.js";
import { type Project, writeProject } from "./fixtures/app-module/project.js";
import { cli, runCli } from "./fixtures/cli.js";

const app = 'export default { fetch: () => new Response("config test\\n") };\n';
const noBrowser = ["--chrome", "/nonexistent/chromium"];

/** A project with app.ts, a key, an icon, some files and `config` as browser-httpd.config.json. */
async function projectWith(config: unknown, more: Record<string, string> = {}): Promise<Project> {
  const project = await writeProject({
    "app.ts": app,
    "key.pem": "not read by these tests\n",
    "public/index.html": "<h1>public</h1>\n",
    "data/a.json": "{}\n",
    "data/deep/b.txt": "b\n",
    "notes.md": "notes\n",
    ...(config === undefined ? {} : { "browser-httpd.config.json": JSON.stringify(config) }),
    ...more,
  });
  const { writeFile } = await import("node:fs/promises");
  await writeFile(project.path("icon.png"), appIcon(192));
  await writeFile(project.path("small.png"), appIcon(64));
  return project;
}

describe("bad project configs are refused with the file and the rule, before anything starts", { timeout: 120_000 }, () => {
  const cases: Array<{ name: string; files: Record<string, string>; error: RegExp }> = [
    {
      name: "an unknown key",
      files: { "browser-httpd.config.json": '{ "prot": 8080 }' },
      error: /browser-httpd\.config\.json: unknown key "prot" \(the keys are name, port, icon, signingKey, include, static\)$/m,
    },
    {
      name: "a name that is no string",
      files: { "browser-httpd.config.json": '{ "name": 5 }' },
      error: /browser-httpd\.config\.json: name must be a non-empty string, not number 5$/m,
    },
    {
      name: "a port out of range",
      files: { "browser-httpd.config.json": '{ "port": 70000 }' },
      error: /browser-httpd\.config\.json: port must be an integer from 0 to 65535, not number 70000$/m,
    },
    {
      name: "a port given as text",
      files: { "browser-httpd.config.json": '{ "port": "8080" }' },
      error: /browser-httpd\.config\.json: port must be an integer from 0 to 65535, not "8080"$/m,
    },
    {
      name: "a missing icon",
      files: { "browser-httpd.config.json": '{ "icon": "missing.png" }' },
      error: /browser-httpd\.config\.json: icon: no such file: missing\.png$/m,
    },
    {
      name: "an icon that is no PNG",
      files: { "browser-httpd.config.json": '{ "icon": "notes.md" }' },
      error: /browser-httpd\.config\.json: icon: notes\.md is not a PNG image/m,
    },
    {
      name: "an icon too small",
      files: { "browser-httpd.config.json": '{ "icon": "small.png" }' },
      error: /browser-httpd\.config\.json: icon: small\.png is 64x64; an app's icon is square, at least 144x144 px$/m,
    },
    {
      name: "a missing signing key",
      files: { "browser-httpd.config.json": '{ "signingKey": "keys/none.pem" }' },
      error: /browser-httpd\.config\.json: signingKey: no such file: keys\/none\.pem \(make one with browser-httpd keygen --out FILE\)$/m,
    },
    {
      name: "an include that matches nothing",
      files: { "browser-httpd.config.json": '{ "include": ["data/*.json", "assets/**"] }' },
      error: /browser-httpd\.config\.json: include: "assets\/\*\*" matches no file in /m,
    },
    {
      name: "an include outside the project",
      files: { "browser-httpd.config.json": '{ "include": "../elsewhere" }' },
      error: /browser-httpd\.config\.json: include: "\.\.\/elsewhere" must be a path or glob inside /m,
    },
    {
      name: "a static folder that is not there",
      files: { "browser-httpd.config.json": '{ "static": "site" }' },
      error: /browser-httpd\.config\.json: static: no such folder: site$/m,
    },
    {
      name: "JSON that does not parse",
      files: { "browser-httpd.config.json": '{ "port": 8080, }' },
      error: /browser-httpd\.config\.json: is not valid JSON: /m,
    },
    {
      name: "a config module without a default export",
      files: { "browser-httpd.config.mjs": "export const port = 8080;\n" },
      error: /browser-httpd\.config\.mjs: has no default export/m,
    },
    {
      name: "two configs in one folder",
      files: { "browser-httpd.config.json": "{}", "package.json": '{ "name": "p", "browser-httpd": {} }' },
      error:
        /browser-httpd\.config\.json: is one of 2 configs in .*\(browser-httpd\.config\.json, package\.json \("browser-httpd" field\)\); keep one$/m,
    },
    {
      name: "package.json's field",
      files: { "package.json": '{ "name": "p", "browser-httpd": { "port": -1 } }' },
      error: /package\.json \("browser-httpd" field\): port must be an integer from 0 to 65535, not number -1$/m,
    },
  ];
  for (const { name, files, error } of cases) {
    it(name, async () => {
      const project = await projectWith(undefined, files);
      try {
        const serve = await runCli(["serve", "app.ts", "--port", "0"], project.dir);
        assert.equal(serve.code, 1, serve.stdout + serve.stderr);
        assert.match(serve.stderr, new RegExp(`^browser-httpd: ${error.source}`, "m"));
        const start = await runCli(["start", "app.ts", ...noBrowser], project.dir);
        assert.equal(start.code, 1, start.stdout + start.stderr);
        assert.match(start.stderr, new RegExp(`^browser-httpd start: ${error.source}`, "m"));
        assert.doesNotMatch(start.stderr, /nonexistent/, "reached the browser");
      } finally {
        await project.remove();
      }
    });
  }
});

describe("start's options from the project config", { timeout: 120_000 }, () => {
  let project: Project;
  const config = {
    name: "My Server",
    port: 45123,
    icon: "icon.png",
    signingKey: "key.pem",
    include: ["data/**/*.json", "data/deep", "notes.md"],
  };
  before(async () => {
    project = await projectWith(config);
  });
  after(() => project.remove());

  it("the config in the module's folder gives port, key, name, icon and the included files", async () => {
    const options = await startOptions([project.path("app.ts")]);
    assert.ok(options);
    assert.deepEqual(options.served, { module: project.path("app.ts") });
    assert.equal(options.port, 45123);
    assert.equal(options.keyPath, project.path("key.pem"));
    assert.equal(options.name, "My Server");
    assert.equal(options.icon, project.path("icon.png"));
    assert.deepEqual(options.include, [
      { source: project.path("data/a.json"), path: "data/a.json" },
      { source: project.path("data/deep/b.txt"), path: "data/deep/b.txt" },
      { source: project.path("notes.md"), path: "notes.md" },
    ]);
  });

  it("flags win over the config", async () => {
    const options = await startOptions([project.path("app.ts"), "--port", "45999", "--key", "/elsewhere/key.pem"]);
    assert.equal(options?.port, 45999);
    assert.equal(options?.keyPath, "/elsewhere/key.pem");
  });

  it("without a module, the working folder's config is read, and its static folder served", async () => {
    const staticProject = await projectWith({ static: "public", port: 45124 });
    const cwd = process.cwd();
    process.chdir(staticProject.dir);
    try {
      const options = await startOptions([]);
      assert.deepEqual(options?.served, { folder: staticProject.path("public") });
      assert.equal(options?.port, 45124);
      // --static and a module win over the config's folder.
      assert.deepEqual((await startOptions(["--static", "data"]))?.served, { folder: "data" });
      assert.deepEqual((await startOptions(["app.ts"]))?.served, { module: "app.ts" });
    } finally {
      process.chdir(cwd);
      await staticProject.remove();
    }
  });

  it("a config in the module's folder wins over the working folder's; no config anywhere needs nothing", async () => {
    const bare = await projectWith(undefined);
    const cwd = process.cwd();
    process.chdir(project.dir);
    try {
      assert.equal((await startOptions([bare.path("app.ts")]))?.port, 45123, "the working folder's config");
      process.chdir(bare.dir);
      const options = await startOptions(["app.ts"]);
      assert.equal(options?.port, undefined);
      assert.equal(options?.keyPath, undefined);
      assert.equal(options?.name, undefined);
      assert.equal((await startOptions([project.path("app.ts")]))?.port, 45123, "the module's folder's config");
    } finally {
      process.chdir(cwd);
      await bare.remove();
    }
  });

  it("a .mjs config's default export works like the JSON", async () => {
    const mjs = await projectWith(undefined, { "browser-httpd.config.mjs": 'export default { port: 45125, name: "From mjs" };\n' });
    try {
      const options = await startOptions([mjs.path("app.ts")]);
      assert.equal(options?.port, 45125);
      assert.equal(options?.name, "From mjs");
    } finally {
      await mjs.remove();
    }
  });

  it("the signed bundle start builds carries the config's name and icon, and the included files below site/", async () => {
    const options = await startOptions([project.path("app.ts")]);
    const bundlePath = project.path("out/app.swbn");
    await buildApp({
      keyPath: project.path("out/key.pem"),
      bundlePath,
      stagingDir: project.path("out/staging"),
      served: options!.served,
      extras: { name: options!.name, icon: options!.icon, include: options!.include },
    });
    const { responses } = await readSignedBundle(bundlePath);
    const text = (path: string) => new TextDecoder().decode(responses.get(path)?.body);
    const manifest = JSON.parse(text("/.well-known/manifest.webmanifest")) as Record<string, unknown>;
    assert.equal(manifest.name, "My Server");
    assert.equal(manifest.short_name, "My Server");
    assert.deepEqual(manifest.icons, [{ src: "/icon.png", sizes: "192x192", type: "image/png", purpose: "any" }]);
    assert.deepEqual([...(responses.get("/icon.png")?.body ?? [])], [...appIcon(192)]);
    assert.equal(text("/site/data/a.json"), "{}\n");
    assert.equal(text("/site/data/deep/b.txt"), "b\n");
    assert.equal(text("/site/notes.md"), "notes\n");
    assert.equal(responses.has("/site/app.ts"), false);
  });

  it("include is refused beside a static folder (its files are all in the bundle already)", async () => {
    const result = await runCli(["start", "--static", "public", ...noBrowser], project.dir);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^browser-httpd start: browser-httpd\.config\.json: include puts files into the bundle beside an app module/m,
    );
  });
});

describe("serve honours the config's port and name; --port wins", { timeout: 60_000 }, () => {
  /** Runs `serve ...args` in `cwd` until it prints its URL; returns that line. */
  async function listeningLine(args: string[], cwd: string): Promise<string> {
    const child = spawn(process.execPath, [cli, "serve", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let output = "";
      const line = await withTimeout(
        new Promise<string>((resolve, reject) => {
          const read = (chunk: Buffer) => {
            output += chunk.toString();
            const match = /^.* listening on http:\/\/\S+\n/m.exec(output);
            if (match) resolve(match[0].trim());
          };
          child.stdout.on("data", read);
          child.stderr.on("data", read);
          child.once("exit", (code) => reject(new Error(`serve exited (${code}): ${output}`)));
        }),
        20_000,
        "serve to listen",
      );
      const url = /http:\/\/\S+/.exec(line)![0];
      assert.equal(await (await fetch(url)).text(), "config test\n");
      return line;
    } finally {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }

  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-config-serve-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("listens on the config's port, under the config's name; --port wins over it", async () => {
    const port = await freePort();
    const project = await projectWith({ port, name: "Configured" });
    try {
      assert.equal(await listeningLine(["app.ts"], project.dir), `Configured listening on http://127.0.0.1:${port}/`);
      const other = await freePort();
      assert.equal(
        await listeningLine(["app.ts", "--port", String(other)], project.dir),
        `Configured listening on http://127.0.0.1:${other}/`,
      );
    } finally {
      await project.remove();
    }
  });

  it("the config's port wins over the module's", async () => {
    const port = await freePort();
    const project = await projectWith({ port }, { "app.ts": app.replace("fetch:", "port: 1, fetch:") });
    try {
      assert.match(await listeningLine(["app.ts"], project.dir), new RegExp(`http://127\\.0\\.0\\.1:${port}/$`));
    } finally {
      await project.remove();
    }
  });
});

describe("start refuses port 0 before the browser starts", { timeout: 60_000 }, () => {
  const rule = /start needs a fixed port from 1 to 65535: inside Chromium the app listens with Direct Sockets on the port it is given/;

  it("from --port", async () => {
    const project = await projectWith(undefined);
    try {
      const result = await runCli(["start", "app.ts", "--port", "0", ...noBrowser], project.dir);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^browser-httpd start: --port 0: start needs a fixed port/m);
      assert.match(result.stderr, rule);
      assert.doesNotMatch(result.stderr, /nonexistent/);
    } finally {
      await project.remove();
    }
  });

  it("from the config", async () => {
    const project = await projectWith({ port: 0 });
    try {
      await assert.rejects(startOptions([project.path("app.ts")]), /browser-httpd\.config\.json: port 0: start needs a fixed port/);
      const result = await runCli(["start", "app.ts", ...noBrowser], project.dir);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^browser-httpd start: browser-httpd\.config\.json: port 0: start needs a fixed port/m);
      assert.doesNotMatch(result.stderr, /nonexistent/);
      // A port on the command line wins over the config's 0.
      assert.equal((await startOptions([project.path("app.ts"), "--port", "45126"]))?.port, 45126);
    } finally {
      await project.remove();
    }
  });

  it("from the module's port, unless --port gives one", async () => {
    const project = await projectWith(undefined, { "app.ts": app.replace("fetch:", "port: 0, fetch:") });
    try {
      const result = await runCli(["start", "app.ts", ...noBrowser], project.dir);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^browser-httpd start: app\.ts: port 0: start needs a fixed port.*; pass --port N to override it$/m);
      assert.doesNotMatch(result.stderr, /nonexistent/);
      const port = String(await freePort());
      const overridden = await runCli(["start", "app.ts", "--port", port, ...noBrowser], project.dir);
      assert.equal(overridden.code, 1);
      assert.match(overridden.stderr, /nonexistent\/chromium/, "got as far as the browser");
    } finally {
      await project.remove();
    }
  });
});
