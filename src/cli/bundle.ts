/** `browser-httpd bundle DIR --key KEYFILE [--key KEYFILE2 ...] --out FILE.swbn [--version X]` */

import { open, readFile, realpath, stat, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { listFiles } from "../node/list-files.js";
import { buildSignedWebBundle, importSigningKey, type BuildProgress, type BundleFile, type FillableBody } from "../bundle/index.js";

const usage = "usage: browser-httpd bundle DIR --key KEYFILE [--key KEYFILE2 ...] --out FILE.swbn [--version X]";
const progressDelayMs = 1000;
const progressIntervalMs = 500;

/** A file read straight into its place in the bundle when its turn comes; a change of size is an error. */
async function fileBody(path: string): Promise<FillableBody> {
  const { size } = await stat(path);
  return {
    size,
    async readInto(target) {
      const handle = await open(path, "r");
      try {
        let filled = 0;
        while (filled < target.length) {
          const { bytesRead } = await handle.read(target, filled, target.length - filled, filled);
          if (bytesRead === 0) throw new Error(`${path} shrank while it was being bundled`);
          filled += bytesRead;
        }
        if ((await handle.read(new Uint8Array(1), 0, 1, filled)).bytesRead > 0) {
          throw new Error(`${path} grew while it was being bundled`);
        }
      } finally {
        await handle.close();
      }
    },
  };
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Progress on stderr once a build has run for a while: each new phase, and at most twice a second within one. */
function progressReporter(): (progress: BuildProgress) => void {
  const started = Date.now();
  let last = 0;
  let lastPhase = "";
  return (progress) => {
    const now = Date.now();
    if (now - started < progressDelayMs) return;
    if (progress.phase === lastPhase && now - last < progressIntervalMs) return;
    last = now;
    lastPhase = progress.phase;
    process.stderr.write(
      `${progress.phase}: ${progress.filesDone}/${progress.filesTotal} files, ` +
        `${megabytes(progress.bytesDone)}/${megabytes(progress.bytesTotal)} MB\n`,
    );
  };
}

export default async function bundle(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: "string", multiple: true },
      out: { type: "string" },
      version: { type: "string" },
    },
  });
  if (positionals.length !== 1 || !values.key?.length || !values.out) throw new Error(usage);
  const dir = await realpath(positionals[0]!);
  if (!(await stat(dir)).isDirectory()) throw new Error(`${positionals[0]} is not a directory`);

  const keys = [];
  for (const keyPath of values.key) {
    if (isInside(dir, await realpath(keyPath))) {
      throw new Error(`key file ${keyPath} lies inside ${positionals[0]}; it would be bundled, refusing`);
    }
    try {
      keys.push(await importSigningKey(await readFile(keyPath, "utf8")));
    } catch (error) {
      throw new Error(`${keyPath}: ${(error as Error).message}`);
    }
  }
  const out = resolve(values.out);
  if (isInside(dir, join(await realpath(dirname(out)), basename(out)))) {
    throw new Error(`--out ${values.out} lies inside ${positionals[0]}; a later build would bundle it, refusing`);
  }

  const files: BundleFile[] = await Promise.all(
    (await listFiles(dir)).map(async (path) => ({ path, body: await fileBody(join(dir, path)) })),
  );
  const built = await buildSignedWebBundle({
    files,
    keys,
    version: values.version,
    onProgress: progressReporter(),
  });
  await writeFile(out, built.bytes);
  process.stdout.write(
    `Web Bundle ID: ${built.webBundleId}\n` +
      `origin: ${built.origin}\n` +
      `files: ${built.fileCount}\n` +
      `size: ${built.bytes.length} bytes\n` +
      `wrote ${values.out}\n`,
  );
  return 0;
}
