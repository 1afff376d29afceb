/**
 * The app of `browser-httpd start --static DIR`: the folder's files, put into the signed bundle by the launcher
 * (launcher/served-app.ts), read from the app's own origin once at start and served with serveStatic over filesSource.
 */
import { filesSource, serveStatic } from "../src/index.js";
import type { AppModule } from "../src/server/app-module.js";

/**
 * `folder`: where the files are in the bundle; `files`: each file's path below it and its modification time (ms),
 * which its ETag and Last-Modified carry.
 */
export async function staticApp(folder: string, files: ReadonlyArray<readonly [path: string, mtimeMs: number]>): Promise<AppModule> {
  const entries = await Promise.all(
    files.map(async ([path, lastModified]) => {
      const response = await fetch(`/${folder}/${path.split("/").map(encodeURIComponent).join("/")}`);
      if (!response.ok) throw new Error(`the bundle lacks ${folder}/${path} (${response.status})`);
      return [path, new File([await response.blob()], path, { lastModified })] as const;
    }),
  );
  // Someone serving a whole folder wants to see what is in it where there is no index.html.
  return { fetch: serveStatic(filesSource(entries), { listing: true }) };
}
