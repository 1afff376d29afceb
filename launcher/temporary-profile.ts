/**
 * Temporary Chromium profiles in the OS temp folder, and removing the ones earlier runs left behind.
 *
 * A launcher killed outright (SIGKILL, a torn-down session) cannot remove its profile; Chromium goes down by
 * itself when its DevTools pipe closes, but the folder (megabytes each) stays. So every temporary profile names
 * its launcher in an owner file, and a later launch removes the profiles whose launcher and Chromium are both
 * gone. Folders without that file, such as a `--profile DIR`, are never touched.
 */
import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";

const profilePrefix = "browser-httpd-profile-";
const ownerFileName = "browser-httpd-owner.json";

interface ProfileOwner {
  pid: number;
  host: string;
  /** Linux's pid namespace ("pid:[4026531836]"): a pid from another one (a container sharing /tmp) says nothing here. */
  pidNamespace?: string;
}

function pidNamespace(): Promise<string | undefined> {
  return readlink("/proc/self/ns/pid").catch(() => undefined);
}

/** Creates a profile folder in `parent`, owned by this process. */
export async function createTemporaryProfile(parent = tmpdir()): Promise<string> {
  const owner: ProfileOwner = { pid: process.pid, host: hostname(), pidNamespace: await pidNamespace() };
  const dir = await mkdtemp(join(parent, profilePrefix));
  // Until this file exists the folder counts as in use, so a concurrent sweep cannot take it.
  await writeFile(join(dir, ownerFileName), JSON.stringify(owner) + "\n").catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return dir;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(dir: string): Promise<ProfileOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(dir, ownerFileName), "utf8")) as Partial<ProfileOwner>;
    const valid =
      Number.isSafeInteger(owner.pid) &&
      owner.pid! > 0 &&
      typeof owner.host === "string" &&
      (owner.pidNamespace === undefined || typeof owner.pidNamespace === "string");
    if (valid) return owner as ProfileOwner;
  } catch {
    // Unreadable or half-written: not known to be abandoned.
  }
  return undefined;
}

/** The pid in Chromium's SingletonLock ("<host>-<pid>"), when it names a process on this machine. */
async function chromiumPid(dir: string): Promise<number | undefined> {
  const target = await readlink(join(dir, "SingletonLock")).catch(() => undefined);
  if (target === undefined) return undefined;
  const dash = target.lastIndexOf("-");
  if (target.slice(0, dash) !== hostname()) return undefined;
  const pid = Number(target.slice(dash + 1));
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * True only for our own folder whose owner file names a launcher on this machine (and pid namespace) that has
 * exited, and whose Chromium (if its lock names one) has exited too. Anything unclear counts as in use.
 */
async function abandoned(dir: string): Promise<boolean> {
  const stats = await lstat(dir).catch(() => undefined);
  if (!stats?.isDirectory() || (process.getuid !== undefined && stats.uid !== process.getuid())) return false;
  const owner = await readOwner(dir);
  if (!owner || owner.host !== hostname() || owner.pidNamespace !== (await pidNamespace())) return false;
  if (owner.pid === process.pid || processAlive(owner.pid)) return false;
  const chromium = await chromiumPid(dir);
  return chromium === undefined || !processAlive(chromium);
}

/** Removes the temporary profiles in `parent` that no running launcher or Chromium uses; returns their paths. */
export async function removeAbandonedProfiles(parent = tmpdir()): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(profilePrefix)) continue;
    const dir = join(parent, name);
    if (!(await abandoned(dir))) continue;
    // Another launch may be sweeping the same folder at once; whoever finishes it, it is gone.
    await rm(dir, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
    if (!(await lstat(dir).catch(() => undefined))) removed.push(dir);
  }
  return removed;
}
