/**
 * The file source `serveStatic` reads from: three calls, small enough for a directory on Node/Deno/Bun
 * (node-source.ts), files held in memory or in the signed bundle (files-source.ts) and a File System Access
 * directory handle (handle-source.ts). Web APIs only: this module runs in the browser too.
 *
 * Paths are arrays of names below the source's root. `serveStatic` hands a source only names it checked:
 * never empty, never "." or "..", never containing "/", "\\", NUL or another control character. A source
 * must still keep to its root on its own terms (the directory source refuses symlinks that lead out of it).
 */

/** What a path names. */
export interface FileStat {
  kind: "file" | "directory";
  /** Bytes of a file (0 for a directory). */
  size: number;
  /** Last modification in ms since the epoch, when the source knows it: Last-Modified and the ETag come from it. */
  mtimeMs?: number;
}

/** One entry of a directory listing. */
export interface DirectoryEntry {
  name: string;
  kind: "file" | "directory";
  size?: number;
  mtimeMs?: number;
}

export interface FileSource {
  /**
   * What is at `path`; undefined when nothing is there, or when what is there must not be served (it lies outside
   * the root, or is neither a regular file nor a directory). `[]` is the root.
   */
  stat(path: readonly string[]): Promise<FileStat | undefined>;
  /**
   * Bytes `start` (inclusive) to `end` (exclusive) of the file at `path`, as a stream that reads from the source
   * only when it is pulled (one chunk per pull, no read-ahead), so a slow client holds back the reads and
   * a file is never in memory as a whole. Rejects when the file cannot be opened (it went away since `stat`).
   */
  open(path: readonly string[], start: number, end: number): Promise<ReadableStream<Uint8Array>>;
  /**
   * Bytes `start` to `end` of the file at `path` in one piece, when the source holds them in memory (any size) or
   * the range is at most its chunk size (one read); undefined: stream them with `open()`. Rejects as `open()` does.
   * Optional: a response from bytes in hand is written at once, without a stream to read, which costs more than a
   * small file's whole answer (on Node, and in Chromium most).
   */
  wholeRange?(
    path: readonly string[],
    start: number,
    end: number,
  ): Uint8Array<ArrayBuffer> | undefined | Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** The entries of the directory at `path`. Optional: a source without it has no directory listings. */
  list?(path: readonly string[]): Promise<DirectoryEntry[]>;
}

/** Chunk size of the sources' reads: 64 KiB. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/**
 * A pull-based stream of `bytes`: one chunk of at most `chunkSize` per pull, views into `bytes`, not copies
 * (a response writer does not keep them).
 */
export function bytesStream(bytes: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        const next = Math.min(bytes.length, offset + chunkSize);
        controller.enqueue(bytes.subarray(offset, next));
        offset = next;
        if (offset >= bytes.length) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A pull-based stream of a Blob's bytes `start` to `end`, one `slice().arrayBuffer()` of at most `chunkSize` per
 * pull. `Blob.stream()` would do, but how far it reads ahead is up to the engine (Node reads a File from disk in
 * pieces of its own choosing); this reads only what the consumer asked for.
 */
/** Bytes `start` to `end` of `blob` in one read; rejects if it is shorter than that (it changed since it was sized). */
export async function blobRange(blob: Blob, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(await blob.slice(start, end).arrayBuffer());
  if (bytes.length !== end - start) throw new Error(`the file ended at byte ${start + bytes.length}, before byte ${end}`);
  return bytes;
}

export function blobStream(blob: Blob, start: number, end: number, chunkSize = DEFAULT_CHUNK_SIZE): ReadableStream<Uint8Array> {
  let offset = start;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (offset >= end) {
          controller.close();
          return;
        }
        const next = Math.min(end, offset + chunkSize);
        const bytes = new Uint8Array(await blob.slice(offset, next).arrayBuffer());
        if (bytes.length === 0) {
          controller.error(new Error(`the file ended at byte ${offset}, before byte ${end}`));
          return;
        }
        controller.enqueue(bytes);
        offset += bytes.length;
        if (offset >= end) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Options of `directorySource(root, options)`. */
export interface DirectorySourceOptions {
  /** Bytes per read, default 256 KiB (each read is a round trip through the runtime's file-system threads). */
  chunkSize?: number;
}
