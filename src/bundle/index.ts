/**
 * Signed Web Bundles and Isolated Web App packaging on Web Crypto alone: the same code runs in Node, Deno, Bun
 * and the browser (web-platform APIs only).
 *
 * Keys
 * - `generateSigningKey(algorithm?: "ed25519" | "ecdsa-p256") → SigningKey` ({ algorithm, privateKey, publicKey }).
 * - `importKey(text) → { algorithm, publicKey, privateKey | null }` from a JWK or PEM (PKCS#8 "PRIVATE KEY",
 *   SEC1 "EC PRIVATE KEY", SPKI "PUBLIC KEY"); `importSigningKey(text)` requires the private key.
 * - `exportPrivateKeyPem`, `exportPrivateKeyJwk`, `exportPublicKeyPem`, `exportPublicKeyJwk`.
 * - `webBundleIdOf(key) → string`; `isolatedAppOrigin(id) → "isolated-app://ID/"`.
 *
 * Building
 * - `buildSignedWebBundle({ files, keys, webBundleId?, version?, headerOverrides?, onProgress? })`
 *   → `{ webBundleId, origin, bytes, integrityBlockLength, fileCount, urls }`.
 *   `files` are `{ path, body }`, the body a Uint8Array, a string, a Blob (streamed in) or
 *   `{ size, readInto(target) }` (fills the place given); either way each file is read once, straight into the
 *   bundle. Each is served at `isolated-app://ID/<path>` (an `index.html` also at its directory's URL) with
 *   Content-Type, COOP, COEP, CORP and the IWA CSP (`headerOverrides`: a header record, or a function of the
 *   path, may add headers or replace the CSP).
 *   Every key signs; the manifest is checked first (`checkManifest`, rules in `manifestRules`).
 * - `signWebBundle(webBundle, keys, { webBundleId? }) → { webBundleId, integrityBlock }` signs an existing web bundle.
 *
 * Reading
 * - `parseSignedWebBundle(bytes)` → `{ webBundleId, signatures, primaryUrl, responses, integrityBlockLength,
 *   webBundle }`, `responses` a `Map<url, { status, headers: Record<string, string>, body: Uint8Array }>`.
 *   No signature check.
 * - `verifySignedWebBundle(bytes, expectedWebBundleId?)` → the same, after checking every signature, the ID and
 *   the IWA URL rules; rejects with an Error whose message is one line naming what is wrong.
 */

export {
  buildSignedWebBundle,
  type BuildOptions,
  type BuildProgress,
  type BuiltSignedWebBundle,
  type BundleFile,
  type FillableBody,
  type StreamableBody,
} from "./build.js";
export { contentTypeFor, iwaContentSecurityPolicy, iwaIsolationHeaders, iwaResponseHeaders, type HeaderOverrides } from "./headers.js";
export type { IntegritySignature } from "./integrity-block.js";
export {
  exportPrivateKeyJwk,
  exportPrivateKeyPem,
  exportPublicKeyJwk,
  exportPublicKeyPem,
  generateSigningKey,
  importKey,
  importSigningKey,
  keyAlgorithms,
  type ImportedKey,
  type KeyAlgorithm,
  type PublicKeyInfo,
  type SigningKey,
} from "./keys.js";
export {
  checkManifest,
  formatManifestProblems,
  isValidAppVersion,
  manifestPath,
  manifestRules,
  type ManifestProblem,
  type ManifestRule,
} from "./manifest.js";
export { parseSignedWebBundle, verifySignedWebBundle, type ParsedSignedWebBundle } from "./signed-web-bundle.js";
export { signWebBundle } from "./signing.js";
export { isolatedAppOrigin, webBundleIdOf } from "./web-bundle-id.js";
export type { BundleResponse } from "./web-bundle.js";
