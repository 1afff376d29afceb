/**
 * Starts Chromium in its own process group with the Isolated Web App flags and a DevTools pipe, and stops it
 * again: the whole group (browser, zygote, renderers, GPU and network services) and the temporary profile.
 *
 * Should the launcher die without `close()` (SIGKILL), Chromium sees its DevTools pipe close and exits with all
 * its helpers (measured: gone 0.15-0.25 s after the kill, at start and while serving); the profile left behind
 * is removed by a later launch (temporary-profile.ts).
 *
 * Chromium on Linux adds every app it installs to the desktop's menus: it runs the xdg-utils scripts
 * (xdg-desktop-menu, xdg-icon-resource, ...) one after another, which took 3-9 s of each install here, and
 * leaves a menu entry and icons in ~/.local/share per install, for an app that only runs while `start` does.
 * So Chromium finds no-op stand-ins for those commands first on its PATH (see `osIntegrationStandIns`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { CdpConnection } from "./cdp.js";
import { createTemporaryProfile } from "./temporary-profile.js";

export interface LaunchChromiumOptions {
  executable: string;
  /** Kept between runs when given; otherwise a fresh temporary profile is removed by `close()`. */
  profileDir?: string;
  headless: boolean;
  extraArgs?: string[];
  /** Chromium's own stderr lines, for diagnostics. */
  onStderr?: (line: string) => void;
}

export interface RunningChromium {
  cdp: CdpConnection;
  process: ChildProcess;
  profileDir: string;
  /** "Chrome/156.0.8078.79" style product string. */
  product: string;
  /** Resolves when the browser process has exited. */
  exited: Promise<void>;
  close(): Promise<void>;
}

export class ChromiumLaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChromiumLaunchError";
  }
}

/** The commands Chromium runs to add an installed app to the desktop's menus (Linux; shell_integration_linux). */
const osIntegrationCommands = ["xdg-desktop-menu", "xdg-icon-resource", "update-desktop-database", "xdg-mime"];

/**
 * A folder in the profile with a no-op script for each of `osIntegrationCommands`, to put first on Chromium's
 * PATH. Returns undefined where this does not apply (not Linux) or the folder cannot be made.
 */
async function osIntegrationStandIns(profileDir: string): Promise<string | undefined> {
  if (process.platform !== "linux") return undefined;
  const dir = join(profileDir, "browser-httpd-no-os-integration");
  try {
    await mkdir(dir, { recursive: true });
    for (const command of osIntegrationCommands) {
      const path = join(dir, command);
      await writeFile(path, "#!/bin/sh\n# browser-httpd: the app is not added to the desktop's menus.\nexit 0\n");
      await chmod(path, 0o755);
    }
    return dir;
  } catch {
    return undefined;
  }
}

function chromiumArgs(options: LaunchChromiumOptions, profileDir: string): string[] {
  const args = [
    "--remote-debugging-pipe",
    `--user-data-dir=${profileDir}`,
    "--enable-features=IsolatedWebApps,IsolatedWebAppDevMode",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--password-store=basic",
    // A hidden or occluded app window must keep serving at full speed.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
  ];
  // A headless window is 800x600 unless told otherwise: room for the panel in screenshots.
  if (options.headless) args.push("--headless=new", "--window-size=1280,900");
  // Chromium's sandbox refuses to start as root.
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  args.push(...(options.extraArgs ?? []), "about:blank");
  return args;
}

/** Settles like `promise`, or with `onTimeout()` after `ms`; the timer never outlives the race. */
async function within<T>(promise: Promise<T>, ms: number, onTimeout: () => T | Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => resolve(), ms);
  }).then(onTimeout);
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function launchChromium(options: LaunchChromiumOptions): Promise<RunningChromium> {
  const temporaryProfile = options.profileDir === undefined;
  const profileDir = options.profileDir ?? (await createTemporaryProfile());
  const standIns = await osIntegrationStandIns(profileDir);
  const env = standIns ? { ...process.env, PATH: [standIns, process.env.PATH].filter(Boolean).join(delimiter) } : process.env;
  const child = spawn(options.executable, chromiumArgs(options, profileDir), {
    // fd 3: commands to Chromium, fd 4: replies from Chromium.
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
    detached: true,
    env,
  });
  let hasExited = false;
  const stderrTail: string[] = [];
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      hasExited = true;
      resolve();
    });
    child.once("error", () => {
      hasExited = true;
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    for (const line of text.split("\n")) {
      if (!line) continue;
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      options.onStderr?.(line);
    }
  });
  const cdp = new CdpConnection(child.stdio[3] as Writable, child.stdio[4] as Readable);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (!hasExited) {
        await cdp.send("Browser.close").catch(() => undefined);
        await within(exited, 3000, () => undefined);
      }
      cdp.close();
      // Helpers (zygote, renderers, crashpad) share the group and may outlive the browser process.
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        if (!groupAlive(child)) break;
        signalGroup(child, signal);
        for (let i = 0; i < 40 && groupAlive(child); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (temporaryProfile) await rm(profileDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    })());

  try {
    const started = Promise.race([
      cdp.send<{ product: string }>("Browser.getVersion"),
      spawnError.then((error) => Promise.reject(error)),
      exited.then(() => Promise.reject(new ChromiumLaunchError(`Chromium exited at start:\n  ${stderrTail.join("\n  ")}`))),
    ]);
    const version = await within(started, 30_000, () => {
      throw new ChromiumLaunchError("Chromium did not answer on the DevTools pipe within 30 s");
    });
    return { cdp, process: child, profileDir, product: version.product, exited, close };
  } catch (error) {
    await close();
    if (error instanceof ChromiumLaunchError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ChromiumLaunchError(
      `could not start ${options.executable}: ${reason}` + (existsSync(options.executable) ? "" : " (no such file)"),
    );
  }
}
