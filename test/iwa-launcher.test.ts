/**
 * `browser-httpd start` as a user runs it: a child process that prints where the app serves (and how long each
 * phase took), answers curl, and on Ctrl-C or SIGTERM leaves no Chromium process and no temporary profile behind
 * (killed with SIGKILL, no Chromium either, and the next start removes the profile); a second start reuses the
 * signed bundle; a killed app renderer is brought back on the same port; and its failures
 * (no browser, port in use, signed install refused) say what failed and what to do.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { locateChromium } from "../launcher/find-chromium.js";
import { startIwa } from "../launcher/start-iwa.js";
import { createTemporaryProfile, removeAbandonedProfiles } from "../launcher/temporary-profile.js";
import { freePort } from "./fixtures/iwa/free-port.js";
import { curl } from "./fixtures/iwa/harness.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

interface StartedCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startCli(args: string[], env: NodeJS.ProcessEnv = {}): StartedCli {
  const child = spawn(process.execPath, [cli, "start", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits for the "serving" block on stdout, or for the process to end; bounded by `timeoutMs`. */
async function waitForServing(started: StartedCli, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended = false;
  void started.exited.then(() => (ended = true));
  while (!started.stdout().includes("stop  Ctrl-C")) {
    if (ended) throw new Error(`start exited early:\n${started.stderr()}`);
    if (Date.now() > deadline) throw new Error(`start did not come up within ${timeoutMs / 1000} s:\n${started.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Command lines of running processes that mention `text`. */
function processesMentioning(text: string): string[] {
  const table = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return table.split("\n").filter((line) => line.includes(text) && !line.includes("ps -eo"));
}

/** Polls until no process mentions `text`, for at most `timeoutMs`; returns those still running then. */
async function processesGoneWithin(text: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesMentioning(text);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processesMentioning(text);
  }
  return left;
}

/** Pids of the renderer processes among the descendants of `pid`. */
function rendererPidsUnder(pid: number): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, child, parent, args]) => ({ pid: Number(child), ppid: Number(parent), args: args! }));
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (tree.has(row.ppid) && !tree.has(row.pid)) {
        tree.add(row.pid);
        grew = true;
      }
    }
  }
  return rows.filter((row) => tree.has(row.pid) && row.args.includes("--type=renderer")).map((row) => row.pid);
}

/** Kills what a failed test left running under `text` (a scratch folder only this test uses). */
function killProcessesMentioning(text: string): void {
  for (const line of processesMentioning(text)) {
    try {
      process.kill(Number(line.trim().split(/\s+/)[0]), "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** The exit code, or a failure once `timeoutMs` passed (the process is then killed). */
async function exitWithin(started: StartedCli, timeoutMs: number): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      started.child.kill("SIGKILL");
      reject(new Error(`start did not exit within ${timeoutMs / 1000} s:\n${started.stderr()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([started.exited, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function stopWithin(started: StartedCli, signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
  started.child.kill(signal);
  return exitWithin(started, timeoutMs);
}

describe("browser-httpd start", { timeout: 300_000 }, () => {
  let scratch: string;
  const running: StartedCli[] = [];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "browser-httpd-start-test-"));
  });
  after(async () => {
    for (const started of running) started.child.kill("SIGKILL");
    await rm(scratch, { recursive: true, force: true });
  });

  it("serves, then on Ctrl-C closes Chromium and removes its temporary profile", async () => {
    const temp = join(scratch, "tmp-sigint");
    await mkdir(temp);
    const port = await freePort();
    const started = startCli(["--port", String(port), "--key", join(scratch, "key.pem"), "--bundle", join(scratch, "app.swbn")], {
      TMPDIR: temp,
    });
    running.push(started);
    await waitForServing(started, 60_000);
    const out = started.stdout();
    assert.ok(out.includes(`URL            http://127.0.0.1:${port}/`), out);
    assert.match(out, /installed via +dev-mode proxy http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /Web Bundle ID +[a-z2-7]{56}\n/);
    assert.match(out, /Chromium +\S*Chrome\/\d+\./);
    assert.match(
      out,
      /took +app build (reused|esbuild) [\d.]+ s · sign (reused )?[\d.]+ s · Chromium start [\d.]+ s · install [\d.]+ s · launch [\d.]+ s · first answer [\d.]+ s; [\d.]+ s since the command started\n/,
    );
    assert.match(started.stderr(), /Generated a signing key/);

    const hello = await curl([`http://127.0.0.1:${port}/hello`]);
    assert.equal(hello.stdout.toString(), "Hello, world!");
    const [profile] = await readdir(temp);
    assert.match(profile ?? "", /^browser-httpd-profile-/);
    assert.ok(processesMentioning(join(temp, profile!)).length > 0, "no Chromium runs with the temporary profile");

    assert.equal(await stopWithin(started, "SIGINT", 20_000), 0, started.stderr());
    assert.deepEqual(processesMentioning(temp), [], "processes left behind");
    assert.deepEqual(await readdir(temp), [], "temporary profile left behind");
    assert.equal((await curl([`http://127.0.0.1:${port}/hello`], 5000)).status, 7, "port still answers");
  });

  it("killed with SIGKILL, takes Chromium down with it, and the next start removes the profile it left", async () => {
    const temp = join(scratch, "tmp-sigkill");
    await mkdir(temp);
    const cliArgs = async () => [
      "--port",
      String(await freePort()),
      "--key",
      join(scratch, "key.pem"),
      "--bundle",
      join(scratch, "app.swbn"),
    ];
    try {
      const killed = startCli(await cliArgs(), { TMPDIR: temp });
      running.push(killed);
      await waitForServing(killed, 60_000);
      const [leftover] = await readdir(temp);
      assert.match(leftover ?? "", /^browser-httpd-profile-/);
      assert.ok(processesMentioning(join(temp, leftover!)).length > 0, "no Chromium runs with the temporary profile");
      killed.child.kill("SIGKILL");
      await exitWithin(killed, 10_000);
      assert.deepEqual(await processesGoneWithin(temp, 15_000), [], "Chromium outlived its launcher");
      assert.deepEqual(await readdir(temp), [leftover], "the killed run should have left its profile");

      // Neither a profile whose launcher runs (this test) nor a --profile folder that merely looks alike may go,
      // even when the latter holds the lock of a Chromium that has exited.
      const inUse = basename(await createTemporaryProfile(temp));
      const lookalike = "browser-httpd-profile-mine";
      await mkdir(join(temp, lookalike));
      await writeFile(join(temp, lookalike, "Local State"), "{}");
      await symlink(`${hostname()}-${killed.child.pid}`, join(temp, lookalike, "SingletonLock"));

      const next = startCli(await cliArgs(), { TMPDIR: temp });
      running.push(next);
      await waitForServing(next, 60_000);
      assert.match(next.stderr(), new RegExp(`Removed 1 temporary profile that runs killed before cleaning up left in ${temp}\\.`));
      const during = await readdir(temp);
      assert.ok(!during.includes(leftover!), `${leftover} is still there`);
      assert.ok(during.includes(inUse) && during.includes(lookalike), `removed too much: ${during.join(", ")}`);
      assert.equal(await stopWithin(next, "SIGTERM", 20_000), 0, next.stderr());
      assert.deepEqual((await readdir(temp)).sort(), [inUse, lookalike].sort());
    } finally {
      killProcessesMentioning(temp);
    }
  });

  it("removes a profile whose launcher has exited only once the Chromium named in its lock has exited too", async () => {
    const temp = join(scratch, "tmp-sweep");
    await mkdir(temp);
    // A launcher that creates its profile and exits at once, as if killed.
    const module = fileURLToPath(new URL("../launcher/temporary-profile.js", import.meta.url));
    const script = `const { createTemporaryProfile } = await import(${JSON.stringify(module)});
      process.stdout.write(await createTemporaryProfile(process.argv[1]));`;
    const profile = execFileSync(process.execPath, ["--input-type=module", "-e", script, temp], { encoding: "utf8", timeout: 20_000 });
    assert.ok(profile.startsWith(join(temp, "browser-httpd-profile-")), profile);

    await symlink(`${hostname()}-${process.pid}`, join(profile, "SingletonLock"));
    assert.deepEqual(await removeAbandonedProfiles(temp), [], "removed while its Chromium runs");
    await rm(join(profile, "SingletonLock"));
    assert.deepEqual(await removeAbandonedProfiles(temp), [profile]);
    assert.deepEqual(await readdir(temp), []);
  });

  it("reuses the key and the signed bundle of the first run, keeps a --profile folder, and reuses the app installed in it", async () => {
    const profile = join(scratch, "kept-profile");
    // A fresh app port per run: Chromium may refuse to listen again at once on a port it just closed.
    for (const run of ["first", "second"]) {
      const port = await freePort();
      const args = ["--port", String(port), "--profile", profile, "--key", join(scratch, "key.pem"), "--bundle", join(scratch, "app.swbn")];
      const started = startCli(args);
      running.push(started);
      await waitForServing(started, 60_000);
      assert.doesNotMatch(started.stderr(), /Generated a signing key/);
      if (run === "second") {
        assert.match(started.stdout(), /installed via .*\(the install kept in the profile\)/);
        // Nothing changed since the first run: the bundle is not signed again.
        assert.match(started.stderr(), /Reused \S*app\.swbn \(\d+ bytes\): signed earlier from these same \d+ files with this key\./);
        assert.doesNotMatch(started.stderr(), /Signed \d+ files/);
        assert.match(started.stdout(), /took +app build reused [\d.]+ s · sign reused /);
      }
      assert.equal((await curl([`http://127.0.0.1:${port}/hello`])).stdout.toString(), "Hello, world!");
      assert.equal(await stopWithin(started, "SIGTERM", 20_000), 0, started.stderr());
      assert.deepEqual(processesMentioning(profile), []);
      assert.ok((await readdir(profile)).length > 0, "the kept profile is empty");
    }
  });

  it("brings the app back on the same port when its renderer is killed, and says so", async () => {
    const temp = join(scratch, "tmp-renderer-kill");
    await mkdir(temp);
    const port = await freePort();
    try {
      const started = startCli(["--port", String(port), "--key", join(scratch, "key.pem"), "--bundle", join(scratch, "app.swbn")], {
        TMPDIR: temp,
      });
      running.push(started);
      await waitForServing(started, 60_000);
      const [profile] = await readdir(temp);
      const browser = processesMentioning(`--user-data-dir=${join(temp, profile!)}`)
        .map((line) => line.trim().split(/\s+/))
        .find((words) => !words.some((word) => word.startsWith("--type=")));
      assert.ok(browser, "no Chromium browser process with the temporary profile");
      const renderers = rendererPidsUnder(Number(browser[0]));
      assert.ok(renderers.length > 0, "no renderer processes");
      // The app's page is in one of them; the others (a blank tab, browser UI) do not matter to start.
      for (const pid of renderers) process.kill(pid, "SIGKILL");

      const deadline = Date.now() + 60_000;
      while (!/The app serves again/.test(started.stderr())) {
        if (Date.now() > deadline) throw new Error(`no restart within 60 s:\n${started.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(
        started.stderr(),
        new RegExp(`The app's page crashed \\((killed|crashed)[^)]*\\); loading it again to serve on port ${port}`),
      );
      assert.match(
        started.stderr(),
        new RegExp(`The app serves again at http://127\\.0\\.0\\.1:${port}/ \\(restarted in its window [\\d.]+ s after the crash\\)`),
      );
      assert.equal((await curl([`http://127.0.0.1:${port}/hello`])).stdout.toString(), "Hello, world!");
      assert.equal(await stopWithin(started, "SIGTERM", 20_000), 0, started.stderr());
      assert.deepEqual(processesMentioning(temp), [], "processes left behind");
    } finally {
      killProcessesMentioning(temp);
    }
  });

  it("waits for a port that nothing listens on but a socket still holds, and serves once it is let go", async () => {
    const port = await freePort();
    // A socket bound to the port without listening, as a closing or outgoing connection leaves one: Chromium's
    // listen fails there (Node's, with SO_REUSEADDR, would not), although no connection to the port is answered.
    const holder = spawn(
      "python3",
      ["-c", `import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1", ${port}))\nprint("bound", flush=True)\nsys.stdin.read()`],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    try {
      await new Promise((resolve, reject) => {
        holder.stdout!.once("data", resolve);
        holder.once("exit", (code) => reject(new Error(`python3 exited (${code}) before binding`)));
      });
      const started = startCli(["--port", String(port), "--key", join(scratch, "key.pem"), "--bundle", join(scratch, "app.swbn")]);
      running.push(started);
      const deadline = Date.now() + 60_000;
      while (!/Port \d+ is not free yet/.test(started.stderr())) {
        if (Date.now() > deadline) throw new Error(`no word about the held port:\n${started.stderr()}`);
        if (started.stdout().includes("stop  Ctrl-C")) throw new Error("served on a port still held");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      holder.stdin!.end();
      await waitForServing(started, 60_000);
      assert.equal((await curl([`http://127.0.0.1:${port}/hello`])).stdout.toString(), "Hello, world!");
      assert.equal(await stopWithin(started, "SIGTERM", 20_000), 0, started.stderr());
    } finally {
      holder.kill();
    }
  });

  it("refuses a port in use, saying so before starting Chromium", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const started = startCli(["--port", String(port), "--key", join(scratch, "key.pem"), "--bundle", join(scratch, "app.swbn")]);
      running.push(started);
      assert.equal(await exitWithin(started, 60_000), 1);
      assert.match(started.stderr(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`, "s"));
      assert.doesNotMatch(started.stderr(), /Started .*Chrome/);
    } finally {
      blocker.close();
    }
  });

  it("explains a missing browser", async () => {
    const started = startCli(["--chrome", join(scratch, "no-such-chrome"), "--port", String(await freePort())]);
    running.push(started);
    assert.equal(await exitWithin(started, 60_000), 1);
    assert.match(started.stderr(), /--chrome .*no-such-chrome is not an executable file/);
  });

  it("says plainly when Chromium will not install the signed bundle itself", async () => {
    const started = startCli([
      "--install",
      "signed",
      "--port",
      String(await freePort()),
      "--key",
      join(scratch, "key.pem"),
      "--bundle",
      join(scratch, "app.swbn"),
    ]);
    running.push(started);
    const bundle = join(scratch, "app.swbn");
    // A Chrome that accepts signed bundles serves; Debian's Chromium refuses: either way it must say which.
    const served = await waitForServing(started, 90_000).then(
      () => true,
      () => false,
    );
    if (served) {
      assert.match(started.stdout(), /installed via +Chromium's signed-bundle install/);
      assert.equal(await stopWithin(started, "SIGTERM", 20_000), 0);
    } else {
      assert.equal(await exitWithin(started, 60_000), 1);
      assert.match(started.stderr(), /did not install \S*app\.swbn from --install-isolated-web-app-from-file/);
      assert.match(started.stderr(), /Run without --install signed/);
    }
    assert.deepEqual(processesMentioning(bundle), []);
  });

  it("reports Chromium's reason when it refuses to install an app", async () => {
    const manifest = { name: "no icon", version: "1.0.0", start_url: "/", scope: "/", display: "standalone" };
    const responses = new Map([
      ["/", { status: 200, headers: { "content-type": "text/html" }, body: Buffer.from("<!doctype html><p>x") }],
      [
        "/.well-known/manifest.webmanifest",
        { status: 200, headers: { "content-type": "application/manifest+json" }, body: Buffer.from(JSON.stringify(manifest)) },
      ],
    ]);
    await assert.rejects(
      startIwa({ executable: locateChromium()!, headless: true, install: { mode: "dev-proxy", responses }, port: await freePort() }),
      /Chromium refused to install the app from http:\/\/127\.0\.0\.1:\d+: .*suitable icon/,
    );
  });
});
