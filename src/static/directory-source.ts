/**
 * `directorySource(root)`: a directory on disk as a FileSource on Node, Deno and Bun. This module itself is safe to
 * bundle for the browser: it loads node-source.ts (node:fs/promises) on first use, through an import that bundlers
 * leave alone, as sockets/index.ts does with its adapters.
 */
import type { DirectorySourceOptions, FileSource } from "./source.js";

/** What node-source.ts exports, declared here so that browser builds never see its node:* types. */
interface NodeSourceModule {
  nodeDirectorySource(root: string, options: DirectorySourceOptions): FileSource;
}

// Kept out of static analysis so browser bundles never pull node:fs.
const NODE_SOURCE_MODULE = "./node-source.js";

export function directorySource(root: string, options: DirectorySourceOptions = {}): FileSource {
  let loaded: Promise<FileSource> | undefined;
  const source = (): Promise<FileSource> => {
    const g = globalThis as { process?: { versions?: { node?: unknown } }; Deno?: unknown };
    if (typeof g.process?.versions?.node !== "string" && typeof g.Deno !== "object") {
      return Promise.reject(
        new Error("a directory path needs Node, Deno or Bun; in the browser serve filesSource() or directoryHandleSource()"),
      );
    }
    loaded ??= (import(NODE_SOURCE_MODULE) as Promise<NodeSourceModule>).then((module) => module.nodeDirectorySource(root, options));
    return loaded;
  };
  return {
    stat: async (path) => (await source()).stat(path),
    open: async (path, start, end) => (await source()).open(path, start, end),
    wholeRange: async (path, start, end) => (await source()).wholeRange!(path, start, end),
    list: async (path) => (await source()).list!(path),
  };
}
