/**
 * `filesSource(files)`: a set of files given by path as a FileSource — the files of a signed bundle inside the IWA,
 * generated files, or a test's tree. Web APIs only.
 *
 * Directories are implied by the paths ("css/site.css" makes "css" a directory). Bodies may be Blobs (read a slice
 * per pull, so a File backed by disk is never read whole), bytes or strings (served as views, never copied).
 * Nothing outside the given paths can be reached: lookups are by whole, checked names.
 */
import { blobRange, blobStream, bytesStream, DEFAULT_CHUNK_SIZE, type DirectoryEntry, type FileSource, type FileStat } from "./source.js";

export type FileBody = Blob | ArrayBuffer | ArrayBufferView | string;

export interface FilesSourceOptions {
  /**
   * Last modification of every file that does not say (a File says its own), ms since the epoch; default: when
   * `filesSource` was called — for bundle files, pass the bundle's build time.
   */
  lastModified?: number;
  /** Bytes per pull, default 64 KiB. */
  chunkSize?: number;
}

interface Entry {
  body: Blob | Uint8Array;
  size: number;
  mtimeMs: number;
}

const ENCODER = new TextEncoder();

function normalizePath(path: string): string[] {
  const names = path.split("/").filter((name) => name !== "");
  for (const name of names) {
    if (name === "." || name === "..") throw new TypeError(`filesSource: '${path}' has a '${name}' segment`);
  }
  return names;
}

/** A file by path, with its last modification (ms since the epoch) when the body itself does not say (a File does). */
export type FileEntry = readonly [path: string, body: FileBody] | readonly [path: string, body: FileBody, lastModified: number];

export function filesSource(files: Iterable<FileEntry> | Record<string, FileBody>, options: FilesSourceOptions = {}): FileSource {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const defaultMtime = options.lastModified ?? Date.now();
  const entries = new Map<string, Entry>();
  /** Directory key ("" is the root) → the names directly in it. */
  const directories = new Map<string, Set<string>>([["", new Set()]]);
  const pairs = Symbol.iterator in files ? (files as Iterable<FileEntry>) : Object.entries(files);

  for (const [path, given, givenMtime] of pairs) {
    const names = normalizePath(path);
    if (names.length === 0) throw new TypeError(`filesSource: '${path}' names no file`);
    let body: Blob | Uint8Array;
    if (typeof given === "string") body = ENCODER.encode(given);
    else if (given instanceof Blob) body = given;
    else if (given instanceof ArrayBuffer) body = new Uint8Array(given);
    else body = new Uint8Array(given.buffer, given.byteOffset, given.byteLength);
    const lastModified = (given as { lastModified?: unknown }).lastModified;
    const key = names.join("/");
    if (directories.has(key)) throw new TypeError(`filesSource: '${path}' is a directory of other files`);
    entries.set(key, {
      body,
      size: body instanceof Blob ? body.size : body.length,
      mtimeMs: givenMtime ?? (typeof lastModified === "number" ? lastModified : defaultMtime),
    });
    for (let depth = 0; depth < names.length; depth++) {
      const parent = names.slice(0, depth).join("/");
      if (entries.has(parent) && depth > 0) throw new TypeError(`filesSource: '${parent}' is both a file and a directory`);
      let children = directories.get(parent);
      if (!children) directories.set(parent, (children = new Set()));
      children.add(names[depth]!);
    }
  }

  const statOf = (key: string): FileStat | undefined => {
    const entry = entries.get(key);
    if (entry) return { kind: "file", size: entry.size, mtimeMs: entry.mtimeMs };
    if (directories.has(key)) return { kind: "directory", size: 0 };
    return undefined;
  };

  return {
    async stat(path) {
      return statOf(path.join("/"));
    },
    async open(path, start, end) {
      const entry = entries.get(path.join("/"));
      if (!entry) throw new Error(`not a file: /${path.join("/")}`);
      if (entry.body instanceof Blob) return blobStream(entry.body, start, end, chunkSize);
      return bytesStream(entry.body.subarray(start, end), chunkSize);
    },
    wholeRange(path, start, end) {
      const body = entries.get(path.join("/"))?.body;
      if (body instanceof Blob) return end - start <= chunkSize ? blobRange(body, start, end) : undefined;
      // A view of shared memory goes through the stream, whose chunks a response may take.
      return body?.buffer instanceof ArrayBuffer ? (body.subarray(start, end) as Uint8Array<ArrayBuffer>) : undefined;
    },
    async list(path) {
      const key = path.join("/");
      const children = directories.get(key);
      if (!children) return [];
      return [...children].map((name): DirectoryEntry => {
        const stat = statOf(key ? `${key}/${name}` : name)!;
        return { name, ...stat };
      });
    },
  };
}
