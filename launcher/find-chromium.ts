/**
 * Finds a Chromium-family browser: an explicit path, then $CHROME_PATH, then the usual names on $PATH.
 * With none found, Debian and Ubuntu get `apt-get install chromium` when that can run without a prompt.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

const usualNames = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"];

export class ChromiumNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChromiumNotFoundError";
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, pathVariable: string): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface FindChromiumOptions {
  /** `--chrome PATH`: used as given, an error when it is not an executable. */
  explicitPath?: string;
  env?: NodeJS.ProcessEnv;
}

/** The browser executable to use, or undefined when none is installed. */
export function locateChromium({ explicitPath, env = process.env }: FindChromiumOptions = {}): string | undefined {
  const chosen = explicitPath ?? env.CHROME_PATH;
  if (chosen) {
    const source = explicitPath ? "--chrome" : "CHROME_PATH";
    if (!isExecutable(chosen)) throw new ChromiumNotFoundError(`${source} ${chosen} is not an executable file`);
    return chosen;
  }
  for (const name of usualNames) {
    const found = onPath(name, env.PATH ?? "");
    if (found) return found;
  }
  return undefined;
}

function isDebianFamily(): boolean {
  if (!existsSync("/etc/os-release")) return false;
  const release = readFileSync("/etc/os-release", "utf8");
  return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(release);
}

/** How apt-get can run here without a password prompt: directly as root, through `sudo -n`, or not at all. */
function aptPrefix(): string[] | undefined {
  if (process.getuid?.() === 0) return [];
  const sudo = spawnSync("sudo", ["-n", "true"], { stdio: "ignore" });
  return sudo.status === 0 ? ["sudo", "-n"] : undefined;
}

function run(command: string[], log: (line: string) => void): boolean {
  log(`$ ${command.join(" ")}`);
  const result = spawnSync(command[0]!, command.slice(1), {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return result.status === 0;
}

/**
 * Finds Chromium, installing Debian's `chromium` package first when nothing is there and apt-get can run
 * unattended. Throws ChromiumNotFoundError with the exact command to run otherwise.
 */
export function findOrInstallChromium(options: FindChromiumOptions & { log: (line: string) => void }): string {
  const found = locateChromium(options);
  if (found) return found;
  const manual = "sudo apt-get update && sudo apt-get install -y chromium";
  if (!isDebianFamily()) {
    throw new ChromiumNotFoundError(
      "no Chromium or Chrome found (looked for CHROME_PATH and " +
        `${usualNames.join(", ")} on PATH). Install Chromium or Google Chrome, then run again, ` +
        "or pass --chrome /path/to/chrome.",
    );
  }
  const prefix = aptPrefix();
  if (!prefix) {
    throw new ChromiumNotFoundError(
      `no Chromium found on PATH. Install it with:\n    ${manual}\nthen run again (or pass --chrome /path/to/chrome).`,
    );
  }
  options.log("No Chromium found: installing Debian's chromium package with apt-get.");
  const installed =
    run([...prefix, "apt-get", "update"], options.log) &&
    run([...prefix, "apt-get", "install", "-y", "--no-install-recommends", "chromium"], options.log);
  const after = installed ? locateChromium(options) : undefined;
  if (!after) throw new ChromiumNotFoundError(`installing chromium with apt-get failed; try by hand:\n    ${manual}`);
  return after;
}
