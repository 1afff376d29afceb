/**
 * A directory on disk as a FileSource, through node:fs/promises (Node, and Deno and Bun, which implement it).
 * Not for the browser: `directorySource()` (directory-source.ts) loads this module only where it runs.
 *
 * Every path is resolved with realpath and must stay inside the root's own realpath, so a symlink that leads out of
 * the root answers as if nothing were there (404), while symlinks within the root work. Only regular files and
 * directories are served (no FIFOs, sockets or devices). Files are read with positioned reads of one chunk per pull.
 */
import { Buffer } from "node:buffer";
import { open, readdir, realpath, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { DirectoryEntry, DirectorySourceOptions, FileSource, FileStat } from "./source.js";

interface Located {
  real: string;
  stat: FileStat;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" || code === "ENAMETOOLONG" || code === "EACCES" || code === "EPERM";
}

/**
 * Bytes per read unless the options say otherwise. Each read is a round trip through the file-system threads (tens
 * of µs of CPU): a 1 MiB file in 64 KiB reads took 0.55× of sirv's CPU per request, in 256 KiB reads 0.72×.
 */
const DISK_CHUNK_SIZE = 256 * 1024;

/** Paths stat()ed and not yet opened that are remembered (requests in flight, HEAD and 304s that never open). */
const MAX_JUST_STATTED = 1024;

export function nodeDirectorySource(root: string, options: DirectorySourceOptions = {}): FileSource {
  const chunkSize = options.chunkSize ?? DISK_CHUNK_SIZE;
  let rootReal: Promise<string> | undefined;
  /** The root's realpath, looked up once (again after a failure: the folder may appear later). */
  const base = (): Promise<string> => {
    rootReal ??= realpath(resolve(root)).catch((error: unknown) => {
      rootReal = undefined;
      throw error;
    });
    return rootReal;
  };

  async function locate(path: readonly string[]): Promise<Located | undefined> {
    let rootPath: string;
    try {
      rootPath = await base();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      const real = await realpath(join(rootPath, ...path));
      const inside = real === rootPath || real.startsWith(rootPath.endsWith(sep) ? rootPath : rootPath + sep);
      if (!inside) return undefined;
      const stats = await stat(real);
      if (stats.isFile()) return { real, stat: { kind: "file", size: stats.size, mtimeMs: stats.mtimeMs } };
      if (stats.isDirectory()) return { real, stat: { kind: "directory", size: 0, mtimeMs: stats.mtimeMs } };
      return undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /**
   * What stat() found, for the open() of the same path that follows it in the handler: taken once, so a request
   * resolves its path (realpath and stat, a third of the work for a small file) once, not twice.
   */
  const justStatted = new Map<string, Located>();

  /** The real path of the file at `path`, from the stat() just made when there was one. */
  async function fileToOpen(path: readonly string[]): Promise<string> {
    const key = path.join("/");
    const remembered = justStatted.get(key);
    justStatted.delete(key);
    const located = remembered ?? (await locate(path));
    if (located?.stat.kind !== "file") throw new Error(`not a file: /${path.join("/")}`);
    return located.real;
  }

  return {
    async stat(path) {
      const located = await locate(path);
      if (located?.stat.kind === "file") {
        if (justStatted.size >= MAX_JUST_STATTED) justStatted.clear();
        justStatted.set(path.join("/"), located);
      }
      return located?.stat;
    },

    async wholeRange(path, start, end) {
      if (end - start > chunkSize) return undefined;
      const handle = await open(await fileToOpen(path), "r");
      try {
        const bytes = uninitialized(end - start);
        const { bytesRead } = await handle.read(bytes, 0, bytes.length, start);
        if (bytesRead !== bytes.length) throw new Error(`/${path.join("/")} ended at byte ${start + bytesRead}, before byte ${end}`);
        return bytes;
      } finally {
        await handle.close().catch(() => {});
      }
    },

    async open(path, start, end) {
      const real = await fileToOpen(path);
      const handle = await open(real, "r");
      let position = start;
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await handle.close().catch(() => {});
      };
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            try {
              const want = Math.min(chunkSize, end - position);
              if (want <= 0) {
                await close();
                controller.close();
                return;
              }
              const buffer = uninitialized(want);
              const { bytesRead } = await handle.read(buffer, 0, want, position);
              if (bytesRead === 0) throw new Error(`${real} ended at byte ${position}, before byte ${end}`);
              position += bytesRead;
              controller.enqueue(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
              if (position >= end) {
                await close();
                controller.close();
              }
            } catch (error) {
              await close();
              controller.error(error);
            }
          },
          cancel: close,
        },
        { highWaterMark: 0 },
      );
    },

    async list(path) {
      const located = await locate(path);
      if (located?.stat.kind !== "directory") return [];
      const names = await readdir(located.real);
      const entries = await Promise.all(
        names.map(async (name): Promise<DirectoryEntry | undefined> => {
          // Through locate(): a symlink is listed only when it resolves inside the root.
          const entry = await locate([...path, name]);
          return entry && { name, kind: entry.stat.kind, size: entry.stat.size, mtimeMs: entry.stat.mtimeMs };
        }),
      );
      return entries.filter((entry): entry is DirectoryEntry => entry !== undefined);
    },
  };
}

/**
 * A buffer the file's bytes are read into, not zeroed first (the read overwrites it, and only what it read is
 * handed on); a plain Uint8Array over it, whose slice() copies as the web's does.
 */
function uninitialized(length: number): Uint8Array<ArrayBuffer> {
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, length);
}
