/**
 * The response headers every Isolated Web App resource carries: its Content-Type, the cross-origin isolation
 * trio (COOP, COEP, CORP) that Chromium requires with exactly these values, and the IWA Content-Security-Policy
 * (the policy Chromium enforces on IWAs anyway; writing it into the bundle makes a dev-mode proxy that serves
 * the bundle's responses behave like the installed app). Per-file overrides may add headers or tighten the CSP.
 */

import mime from "mime/lite";

export const iwaContentSecurityPolicy =
  "base-uri 'none'; default-src 'self'; object-src 'none'; frame-src 'self' https: blob: data:; " +
  "connect-src 'self' https: wss: blob: data:; script-src 'self' 'wasm-unsafe-eval'; " +
  "img-src 'self' https: blob: data:; media-src 'self' https: blob: data:; font-src 'self' blob: data:; " +
  "style-src 'self' 'unsafe-inline'; require-trusted-types-for 'script'; frame-ancestors 'self';";

/** Headers whose values Chromium requires exactly; overrides may repeat them but not change them. */
export const iwaIsolationHeaders: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/** Extra or replacement headers: one set for every file, or chosen per file path ("/dir/file.js"). */
export type HeaderOverrides = Readonly<Record<string, string>> | ((path: string) => Readonly<Record<string, string>> | undefined);

// Text formats get an explicit charset so pages never fall back to encoding sniffing.
const textTypes = /^(text\/|application\/(javascript|json|manifest\+json|xml)|image\/svg\+xml)/;

export function contentTypeFor(path: string): string {
  const type = mime.getType(path) ?? "application/octet-stream";
  return textTypes.test(type) ? `${type}; charset=utf-8` : type;
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const valuePattern = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The headers of the resource at `path` (an absolute path within the app), overrides applied, names lowercase. */
export function iwaResponseHeaders(path: string, overrides?: HeaderOverrides): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": contentTypeFor(path),
    ...iwaIsolationHeaders,
    "content-security-policy": iwaContentSecurityPolicy,
  };
  const extra = typeof overrides === "function" ? overrides(path) : overrides;
  for (const [rawName, value] of Object.entries(extra ?? {})) {
    const name = rawName.toLowerCase();
    if (!tokenPattern.test(name)) throw new Error(`header override for ${path}: "${rawName}" is not a valid header name`);
    if (typeof value !== "string" || !valuePattern.test(value)) {
      throw new Error(`header override for ${path}: the value of ${name} is not a valid header value`);
    }
    const required = iwaIsolationHeaders[name];
    if (required !== undefined && value !== required) {
      throw new Error(`header override for ${path}: ${name} must be "${required}" in an Isolated Web App`);
    }
    headers[name] = value;
  }
  return headers;
}
