/**
 * `directoryHandleSource(handle)`: a folder picked with the File System Access API (`showDirectoryPicker()`, or a
 * handle kept in IndexedDB) as a FileSource. Web APIs only.
 *
 * The API addresses entries by name under a handle only, so there is no path to leave the folder by: the handler
 * checks every name first, and the browser refuses "..", "/" and "\\" in names itself (TypeError). Files are read a
 * slice per pull from the `File` the handle gives, so a large file is never in memory as a whole.
 * A lost permission (NotAllowedError) is not "not found": it rejects, and the server answers 500.
 */
import { blobRange, blobStream, DEFAULT_CHUNK_SIZE, type DirectoryEntry, type FileSource } from "./source.js";

/** What this source uses of a `FileSystemFileHandle`. */
export interface FileHandleLike {
  readonly kind: "file";
  readonly name: string;
  getFile(): Promise<Blob & { readonly lastModified?: number }>;
}

/** What this source uses of a `FileSystemDirectoryHandle` (a real one fits; `values()` is needed for listings). */
export interface DirectoryHandleLike {
  readonly kind: "directory";
  readonly name: string;
  getDirectoryHandle(name: string): Promise<DirectoryHandleLike>;
  getFileHandle(name: string): Promise<FileHandleLike>;
  values?(): AsyncIterable<DirectoryHandleLike | FileHandleLike>;
}

export interface HandleSourceOptions {
  /** Bytes per pull, default 64 KiB. */
  chunkSize?: number;
}

/** The errors that mean "nothing (of that kind) by that name"; anything else is a real failure. */
function isNotThere(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "NotFoundError" || name === "TypeMismatchError" || name === "TypeError";
}

async function directoryAt(root: DirectoryHandleLike, path: readonly string[]): Promise<DirectoryHandleLike | undefined> {
  let directory = root;
  try {
    for (const name of path) directory = await directory.getDirectoryHandle(name);
  } catch (error) {
    if (isNotThere(error)) return undefined;
    throw error;
  }
  return directory;
}

async function entryAt(root: DirectoryHandleLike, path: readonly string[]): Promise<DirectoryHandleLike | FileHandleLike | undefined> {
  if (path.length === 0) return root;
  const parent = await directoryAt(root, path.slice(0, -1));
  if (!parent) return undefined;
  const name = path[path.length - 1]!;
  for (const get of [() => parent.getFileHandle(name), () => parent.getDirectoryHandle(name)]) {
    try {
      return await get();
    } catch (error) {
      if (!isNotThere(error)) throw error;
    }
  }
  return undefined;
}

export function directoryHandleSource(handle: DirectoryHandleLike, options: HandleSourceOptions = {}): FileSource {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const source: FileSource = {
    async stat(path) {
      const entry = await entryAt(handle, path);
      if (!entry) return undefined;
      if (entry.kind === "directory") return { kind: "directory", size: 0 };
      const file = await entry.getFile();
      return { kind: "file", size: file.size, mtimeMs: file.lastModified };
    },
    async open(path, start, end) {
      const entry = await entryAt(handle, path);
      if (entry?.kind !== "file") throw new Error(`not a file: /${path.join("/")}`);
      return blobStream(await entry.getFile(), start, end, chunkSize);
    },
    async wholeRange(path, start, end) {
      if (end - start > chunkSize) return undefined;
      const entry = await entryAt(handle, path);
      if (entry?.kind !== "file") throw new Error(`not a file: /${path.join("/")}`);
      return blobRange(await entry.getFile(), start, end);
    },
  };
  if (handle.values) {
    source.list = async (path) => {
      const directory = await directoryAt(handle, path);
      if (!directory?.values) return [];
      const entries: DirectoryEntry[] = [];
      for await (const entry of directory.values()) {
        if (entry.kind === "directory") entries.push({ name: entry.name, kind: "directory" });
        else {
          const file = await entry.getFile();
          entries.push({ name: entry.name, kind: "file", size: file.size, mtimeMs: file.lastModified });
        }
      }
      return entries;
    };
  }
  return source;
}
