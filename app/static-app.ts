/**
 * The app of `browser-httpd start --static DIR`: the folder's files, put into the signed bundle by the launcher
 * (launcher/served-app.ts), read from the app's own origin once at start and served with serveStatic over filesSource.
 */
import { type FileEntry, filesSource, serveStatic } from "../src/index.js";
import type { AppModule } from "../src/server/app-module.js";

/** Files up to this size are held in memory, up to IN_MEMORY_TOTAL in all; the others stay Blobs. */
const IN_MEMORY_FILE_LIMIT = 4 * 1024 * 1024;
const IN_MEMORY_TOTAL = 64 * 1024 * 1024;
/** Bytes per read of a Blob (and per piece of an in-memory file): fewer round trips, within the writer's batch size. */
const CHUNK_SIZE = 1024 * 1024;

/**
 * `folder`: where the files are in the bundle; `files`: each file's path below it and its modification time (ms),
 * which its ETag and Last-Modified carry.
 */
export async function staticApp(folder: string, files: ReadonlyArray<readonly [path: string, mtimeMs: number]>): Promise<AppModule> {
  const blobs = await Promise.all(
    files.map(async ([path]) => {
      const response = await fetch(`/${folder}/${path.split("/").map(encodeURIComponent).join("/")}`);
      if (!response.ok) throw new Error(`the bundle lacks ${folder}/${path} (${response.status})`);
      return response.blob();
    }),
  );
  // Each read of a Blob is a round trip to the browser process (about 4 ms for 1 KiB here): small files are read
  // into memory once, large ones (video) in large slices as they are served.
  let inMemory = 0;
  const entries: FileEntry[] = [];
  for (const [index, [path, lastModified]] of files.entries()) {
    const blob = blobs[index]!;
    if (blob.size <= IN_MEMORY_FILE_LIMIT && inMemory + blob.size <= IN_MEMORY_TOTAL) {
      inMemory += blob.size;
      entries.push([path, new Uint8Array(await blob.arrayBuffer()), lastModified]);
    } else entries.push([path, new File([blob], path, { lastModified })]);
  }
  // Someone serving a whole folder wants to see what is in it where there is no index.html.
  return { fetch: serveStatic(filesSource(entries, { chunkSize: CHUNK_SIZE }), { listing: true }) };
}
