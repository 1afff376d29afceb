/**
 * Checks on an Isolated Web App's manifest before it is signed: the things without which Chromium refuses to
 * install the app, several of them silently. Each problem names its rule.
 */

export const manifestPath = "/.well-known/manifest.webmanifest";

export const manifestRules = {
  "manifest-present": `${manifestPath} is in the bundle`,
  "manifest-json": "the manifest is a JSON object",
  "manifest-name": "the manifest has a non-empty name",
  "manifest-version": 'the manifest has a version of dot-separated integers without leading zeros, like "1.0.3"',
  "manifest-start-url": "the manifest has a start_url within the app",
  "manifest-scope": "the manifest has a scope within the app",
  "manifest-icon": "the manifest lists a square icon of at least 144x144 px (PNG, WebP or SVG) that is in the bundle",
  "permissions-policy-cross-origin-isolated": 'permissions_policy grants "cross-origin-isolated" to "self"',
  "permissions-policy-direct-sockets": 'permissions_policy grants "direct-sockets" to "self" when the app uses sockets',
} as const;

export type ManifestRule = keyof typeof manifestRules;

export interface ManifestProblem {
  rule: ManifestRule;
  message: string;
}

const minimumIconSize = 144;
const iconTypes: Record<string, string> = { png: "image/png", webp: "image/webp", svg: "image/svg+xml" };
const socketApis = ["TCPServerSocket", "TCPSocket", "UDPSocket"].map((name) => new TextEncoder().encode(name));
const scriptPathPattern = /\.(m?js|html?)$/i;
const versionPattern = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/** Chromium's rule for an IWA version: dot-separated integers (each fitting 32 bits), no leading zeros. */
export function isValidAppVersion(version: string): boolean {
  return versionPattern.test(version) && version.split(".").every((part) => Number(part) <= 0xffffffff);
}

// Any origin will do: only whether a URL stays on the app's origin, and its path, matter.
const appOrigin = "https://app.invalid";
const manifestUrl = `${appOrigin}${manifestPath}`;

/** The app path a manifest URL member points to, or null when it leaves the app's origin or is not a string. */
function appPathOf(member: unknown): string | null {
  if (typeof member !== "string") return null;
  try {
    const url = new URL(member, manifestUrl);
    return url.origin === appOrigin ? decodeURIComponent(url.pathname) : null;
  } catch {
    return null;
  }
}

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
function pngDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || !signature.every((byte, i) => bytes[i] === byte)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 24);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Why one manifest icon does not qualify, or null when it does. */
function iconShortfall(icon: unknown, files: ReadonlyMap<string, Uint8Array>): string | null {
  if (typeof icon !== "object" || icon === null) return "an icon entry is not an object";
  const { src, sizes, type, purpose } = icon as Record<string, unknown>;
  const path = appPathOf(src);
  if (path === null) return `icon ${JSON.stringify(src)} is not a URL within the app`;
  const bytes = files.get(path);
  if (!bytes) return `icon ${path} is not in the bundle`;
  if (typeof purpose === "string" && !purpose.split(/\s+/).includes("any")) return `icon ${path} is not for purpose "any"`;
  const extension = path.split(".").pop()!.toLowerCase();
  const mediaType = typeof type === "string" ? type : iconTypes[extension];
  if (!mediaType || !Object.values(iconTypes).includes(mediaType)) return `icon ${path} is not PNG, WebP or SVG`;
  const declared = typeof sizes === "string" ? sizes.toLowerCase().split(/\s+/) : [];
  const anySize = mediaType === "image/svg+xml" && declared.includes("any");
  const largest = Math.max(
    0,
    ...declared.map((size) => /^(\d+)x(\d+)$/.exec(size)).flatMap((m) => (m && m[1] === m[2] ? [Number(m[1])] : [])),
  );
  if (!anySize && largest < minimumIconSize) {
    return `icon ${path} declares sizes ${JSON.stringify(sizes ?? "")}, none square and at least ${minimumIconSize}x${minimumIconSize}`;
  }
  const actual = mediaType === "image/png" ? pngDimensions(bytes) : null;
  if (mediaType === "image/png" && (!actual || actual.width < minimumIconSize || actual.height < minimumIconSize)) {
    return actual ? `icon ${path} is really ${actual.width}x${actual.height}` : `icon ${path} is not a PNG file`;
  }
  return null;
}

function grants(policy: Record<string, unknown>, feature: string): boolean {
  const allowlist = policy[feature];
  return Array.isArray(allowlist) && (allowlist.includes("self") || allowlist.includes("*"));
}

function isIdentifierByte(byte: number | undefined): boolean {
  return byte !== undefined && (byte >= 0x80 || /[\w$]/.test(String.fromCharCode(byte)));
}

/**
 * Whether `word` (ASCII) occurs in `bytes` as a whole identifier. Searched in the bytes, without decoding: the
 * scripts of a large app are many megabytes, and a native `indexOf` on the first byte skips most of them.
 */
function containsIdentifier(bytes: Uint8Array, word: Uint8Array): boolean {
  for (let at = bytes.indexOf(word[0]!); at !== -1; at = bytes.indexOf(word[0]!, at + 1)) {
    if (word.every((byte, i) => bytes[at + i] === byte) && !isIdentifierByte(bytes[at - 1]) && !isIdentifierByte(bytes[at + word.length])) {
      return true;
    }
  }
  return false;
}

function usesSockets(files: ReadonlyMap<string, Uint8Array>): boolean {
  for (const [path, bytes] of files) {
    if (scriptPathPattern.test(path) && socketApis.some((word) => containsIdentifier(bytes, word))) return true;
  }
  return false;
}

function parseManifest(bytes: Uint8Array): { ok: true; members: Record<string, unknown> } | { ok: false; problem: ManifestProblem } {
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    return { ok: false, problem: { rule: "manifest-json", message: `${manifestPath} is not valid JSON: ${(error as Error).message}` } };
  }
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    return { ok: false, problem: { rule: "manifest-json", message: `${manifestPath} is not a JSON object` } };
  }
  return { ok: true, members: manifest as Record<string, unknown> };
}

/** One line per problem: "[rule] what is wrong (what the rule asks)". */
export function formatManifestProblems(problems: readonly ManifestProblem[]): string {
  return problems.map(({ rule, message }) => `[${rule}] ${message} (rule: ${manifestRules[rule]})`).join("\n");
}

/**
 * Checks the manifest among `files` (app path such as "/index.html" → contents). Returns every problem found;
 * an empty list means the app passes.
 */
export function checkManifest(files: ReadonlyMap<string, Uint8Array>): ManifestProblem[] {
  const bytes = files.get(manifestPath);
  if (!bytes) return [{ rule: "manifest-present", message: `${manifestPath} is missing` }];
  const parsed = parseManifest(bytes);
  if (!parsed.ok) return [parsed.problem];
  const members = parsed.members;
  const problems: ManifestProblem[] = [];
  const problem = (rule: ManifestRule, message: string) => problems.push({ rule, message });

  if (typeof members.name !== "string" || members.name.trim() === "") problem("manifest-name", "name is missing or empty");
  if (typeof members.version !== "string") problem("manifest-version", "version is missing");
  else if (!isValidAppVersion(members.version)) problem("manifest-version", `version "${members.version}" is not like "1.0.3"`);
  if (appPathOf(members.start_url) === null)
    problem("manifest-start-url", `start_url ${JSON.stringify(members.start_url)} is missing or outside the app`);
  if (appPathOf(members.scope) === null) problem("manifest-scope", `scope ${JSON.stringify(members.scope)} is missing or outside the app`);

  const icons = Array.isArray(members.icons) ? members.icons : [];
  const shortfalls = icons.map((icon) => iconShortfall(icon, files));
  if (!shortfalls.includes(null)) {
    const found = shortfalls.length ? `: ${shortfalls.join("; ")}` : ": icons is missing or empty";
    problem("manifest-icon", `no usable icon of at least ${minimumIconSize}x${minimumIconSize}${found}`);
  }

  const policy = members.permissions_policy;
  const policyObject = typeof policy === "object" && policy !== null ? (policy as Record<string, unknown>) : {};
  if (!grants(policyObject, "cross-origin-isolated")) {
    problem("permissions-policy-cross-origin-isolated", 'permissions_policy lacks "cross-origin-isolated": ["self"]');
  }
  if (!grants(policyObject, "direct-sockets") && usesSockets(files)) {
    problem("permissions-policy-direct-sockets", 'the app uses Direct Sockets but permissions_policy lacks "direct-sockets": ["self"]');
  }
  return problems;
}

/** The manifest with its version replaced (the rest of the JSON kept, re-serialised). */
export function withManifestVersion(manifest: Uint8Array, version: string): Uint8Array {
  if (!isValidAppVersion(version)) {
    throw new Error(formatManifestProblems([{ rule: "manifest-version", message: `version "${version}" is not like "1.0.3"` }]));
  }
  const parsed = parseManifest(manifest);
  if (!parsed.ok) throw new Error(formatManifestProblems([parsed.problem]));
  return new TextEncoder().encode(`${JSON.stringify({ ...parsed.members, version }, null, 2)}\n`);
}
