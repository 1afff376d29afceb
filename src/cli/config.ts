/**
 * The optional project config of `start` and `serve`: `browser-httpd.config.json`, `.mjs` or `.js` (its default export),
 * or a `"browser-httpd"` field in package.json, looked for in the app module's folder, then in the working folder.
 * Keys: name, port, icon (a PNG), signingKey, include (files or globs put into the bundle), static (a folder). Paths
 * are relative to the config's folder. Command-line flags win over it; it wins over the module's own `port`.
 * Everything is checked when it is read, before any browser starts: errors name the file and the rule.
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { displayName } from "../node/app-module.js";
import { listFiles } from "../node/list-files.js";

/** A file put into the bundle: where it is read from, and its path in the bundle below `site/` (with "/"). */
export interface IncludedFile {
  source: string;
  path: string;
}

export interface ProjectConfig {
  /** Where it was read from, as errors name it; undefined when there is no config. */
  file?: string;
  /** The folder its paths are relative to. */
  dir: string;
  name?: string;
  port?: number;
  /** Absolute path of a PNG. */
  icon?: string;
  /** Absolute path of the key that signs the bundle. */
  signingKey?: string;
  /** The files the include patterns matched, in order, each once. */
  include?: IncludedFile[];
  /** Absolute path of the folder to serve when neither a module nor --static is given. */
  static?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly rule: string,
  ) {
    super(`${file}: ${rule}`);
    this.name = "ConfigError";
  }
}

/** Looked for in this order in each folder; two in one folder are refused. */
export const configFileNames = ["browser-httpd.config.json", "browser-httpd.config.mjs", "browser-httpd.config.js"] as const;
export const packageField = "browser-httpd";
const keys = ["name", "port", "icon", "signingKey", "include", "static"] as const;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/** The config sources present in `dir`: config files, and package.json when it has the field. */
async function sourcesIn(dir: string): Promise<Array<{ file: string; read: () => Promise<unknown> }>> {
  const found: Array<{ file: string; read: () => Promise<unknown> }> = [];
  for (const name of configFileNames) {
    const path = join(dir, name);
    if (!(await exists(path))) continue;
    const file = displayName(path);
    found.push({
      file,
      read: async () => {
        if (name.endsWith(".json")) {
          try {
            return JSON.parse(await readFile(path, "utf8")) as unknown;
          } catch (error) {
            throw new ConfigError(file, `is not valid JSON: ${(error as Error).message}`);
          }
        }
        let namespace: Record<string, unknown>;
        try {
          namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
        } catch (error) {
          throw new ConfigError(file, `threw while loading: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (!("default" in namespace)) throw new ConfigError(file, "has no default export; it ends with `export default { ... }`");
        return namespace.default;
      },
    });
  }
  const packageJson = join(dir, "package.json");
  if (await exists(packageJson)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(packageJson, "utf8"));
    } catch {
      parsed = undefined; // not ours to judge
    }
    if (typeof parsed === "object" && parsed !== null && packageField in parsed) {
      const value = (parsed as Record<string, unknown>)[packageField];
      found.push({ file: `${displayName(packageJson)} ("${packageField}" field)`, read: async () => value });
    }
  }
  return found;
}

/** Turns a glob (`*`, `**`, `?`) into a RegExp over "/"-separated paths. */
function globPattern(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      // `**/` is any number of folders (none too); `**` at the end is anything.
      if (glob[i + 2] === "/") {
        source += "(?:.*/)?";
        i += 2;
      } else {
        source += ".*";
        i += 1;
      }
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

async function includedFiles(file: string, dir: string, patterns: readonly string[]): Promise<IncludedFile[]> {
  let all: string[] | undefined;
  const seen = new Set<string>();
  const included: IncludedFile[] = [];
  for (const pattern of patterns) {
    const rule = `include: ${JSON.stringify(pattern)}`;
    const normal = pattern.replace(/\\/g, "/").replace(/^\.\//, "").replace(/\/+$/, "");
    if (normal === "" || isAbsolute(pattern) || normal.startsWith("/") || normal.split("/").some((part) => part === ".." || part === "."))
      throw new ConfigError(file, `${rule} must be a path or glob inside ${displayName(dir) || "."}, without . or .. segments`);
    all ??= (await listFiles(dir)).filter((path) => !path.split("/").some((part) => part === "node_modules" || part.startsWith(".")));
    let matched: string[];
    if (/[*?]/.test(normal)) {
      const regexp = globPattern(normal);
      matched = all.filter((path) => regexp.test(path));
    } else {
      // A plain path: that file, or every file in that folder (dotfiles too, when named).
      const info = await stat(join(dir, normal)).catch(() => undefined);
      if (info?.isDirectory()) matched = (await listFiles(join(dir, normal))).map((path) => `${normal}/${path}`);
      else matched = info?.isFile() ? [normal] : [];
    }
    if (matched.length === 0) throw new ConfigError(file, `${rule} matches no file in ${displayName(dir) || "."}`);
    for (const path of matched) {
      if (seen.has(path)) continue;
      seen.add(path);
      included.push({ source: join(dir, path), path });
    }
  }
  return included;
}

/** Checks a config's value and resolves its paths against `dir`. */
export async function checkConfig(value: unknown, file: string, dir: string): Promise<ProjectConfig> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfigError(file, `must be an object such as { "port": 8080 }, not ${describe(value)}`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(keys as readonly string[]).includes(key)) throw new ConfigError(file, `unknown key "${key}" (the keys are ${keys.join(", ")})`);
  }
  const config: ProjectConfig = { file, dir };
  const path = (key: string): string | undefined => {
    const text = record[key];
    if (text === undefined) return undefined;
    if (typeof text !== "string" || text === "") throw new ConfigError(file, `${key} must be a path (a string), not ${describe(text)}`);
    return resolve(dir, text);
  };
  const { name, port } = record;
  if (name !== undefined) {
    if (typeof name !== "string" || name.trim() === "")
      throw new ConfigError(file, `name must be a non-empty string, not ${describe(name)}`);
    config.name = name;
  }
  if (port !== undefined) {
    if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(file, `port must be an integer from 0 to 65535, not ${describe(port)}`);
    config.port = port;
  }
  const icon = path("icon");
  if (icon !== undefined) {
    const bytes = await readFile(icon).catch(() => undefined);
    if (bytes === undefined) throw new ConfigError(file, `icon: no such file: ${displayName(icon)}`);
    if (!PNG_SIGNATURE.every((byte, index) => bytes[index] === byte))
      throw new ConfigError(file, `icon: ${displayName(icon)} is not a PNG image (the icon must be a .png)`);
    // What Chromium asks of an IWA's icon (and src/bundle's manifest check with it).
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const [width, height] = bytes.length >= 24 ? [view.getUint32(16), view.getUint32(20)] : [0, 0];
    if (width !== height || width < 144)
      throw new ConfigError(file, `icon: ${displayName(icon)} is ${width}x${height}; an app's icon is square, at least 144x144 px`);
    config.icon = icon;
  }
  const signingKey = path("signingKey");
  if (signingKey !== undefined) {
    const info = await stat(signingKey).catch(() => undefined);
    if (!info?.isFile())
      throw new ConfigError(file, `signingKey: no such file: ${displayName(signingKey)} (make one with browser-httpd keygen --out FILE)`);
    config.signingKey = signingKey;
  }
  const folder = path("static");
  if (folder !== undefined) {
    const info = await stat(folder).catch(() => undefined);
    if (!info?.isDirectory()) throw new ConfigError(file, `static: no such folder: ${displayName(folder)}`);
    config.static = folder;
  }
  const { include } = record;
  if (include !== undefined) {
    const patterns = typeof include === "string" ? [include] : include;
    if (!Array.isArray(patterns) || patterns.some((pattern) => typeof pattern !== "string"))
      throw new ConfigError(file, `include must be a path or glob, or a list of them, not ${describe(include)}`);
    config.include = await includedFiles(file, dir, patterns as string[]);
  }
  return config;
}

/**
 * The project config for an app in `appDir` (the module's folder; the working folder without a module): the first
 * folder of `appDir` and the working folder that has one. Without any, `{ dir }` and nothing else.
 */
export async function loadConfig(appDir: string = process.cwd()): Promise<ProjectConfig> {
  const dirs = [...new Set([resolve(appDir), resolve(process.cwd())])];
  for (const dir of dirs) {
    const sources = await sourcesIn(dir);
    if (sources.length > 1) {
      throw new ConfigError(
        sources[0]!.file,
        `is one of ${sources.length} configs in ${displayName(dir) || "."} (${sources.map((source) => source.file).join(", ")}); keep one`,
      );
    }
    if (sources.length === 1) return checkConfig(await sources[0]!.read(), sources[0]!.file, dir);
  }
  return { dir: resolve(appDir) };
}

/** The config for what `start` or `serve` was given: a module's folder, or the working folder. */
export function configFor(module: string | undefined): Promise<ProjectConfig> {
  return loadConfig(module === undefined ? process.cwd() : dirname(resolve(module)));
}
