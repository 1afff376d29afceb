import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Every regular file under `dir` (symbolic links followed), as sorted paths relative to it with "/" separators. */
export async function listFiles(dir: string): Promise<string[]> {
  return (await collect(dir, "")).sort();
}

async function collect(dir: string, prefix: string): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const info = entry.isSymbolicLink() ? await stat(join(dir, path)) : entry;
    if (info.isDirectory()) paths.push(...(await collect(dir, path)));
    else if (info.isFile()) paths.push(path);
  }
  return paths;
}
