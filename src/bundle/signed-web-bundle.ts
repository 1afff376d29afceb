/** Reading and verifying a Signed Web Bundle (.swbn): integrity block v2 followed by a b2 web bundle. */

import { parseIntegrityBlock, type IntegritySignature, type ParsedIntegrityBlock } from "./integrity-block.js";
import { verifyIntegrityBlock } from "./signing.js";
import { isolatedAppOrigin, parseWebBundleId } from "./web-bundle-id.js";
import { parseWebBundle, type BundleResponse } from "./web-bundle.js";

export interface ParsedSignedWebBundle {
  /** The `webBundleId` attribute of the integrity block. */
  webBundleId: string;
  signatures: IntegritySignature[];
  /** Isolated Web Apps have none; a verified bundle never does. */
  primaryUrl: string | null;
  /** URL → response; bodies are views into the input bytes. */
  responses: Map<string, BundleResponse>;
  integrityBlockLength: number;
  /** The signed web bundle itself (a view into the input). */
  webBundle: Uint8Array;
}

function withWebBundle(block: ParsedIntegrityBlock, webBundle: Uint8Array): ParsedSignedWebBundle {
  const { primaryUrl, responses } = parseWebBundle(webBundle);
  const signatures = block.signatures.map(({ algorithm, publicKey, signature }) => ({ algorithm, publicKey, signature }));
  return { webBundleId: block.webBundleId, signatures, primaryUrl, responses, integrityBlockLength: block.length, webBundle };
}

/** Parses without checking signatures. Throws an Error with a one-line message on malformed input. */
export function parseSignedWebBundle(bytes: Uint8Array): ParsedSignedWebBundle {
  const block = parseIntegrityBlock(bytes);
  return withWebBundle(block, bytes.subarray(block.length));
}

/**
 * Parses and verifies: the integrity block's structure, every signature over the web bundle, that the Web Bundle ID
 * is well formed and belongs to a signing key (and equals `expectedWebBundleId` when given), and that the web bundle
 * is an Isolated Web App's (no primary URL; every URL on `isolated-app://ID/`, without query or fragment).
 * Resolves to the parsed bundle; rejects with an Error whose message is one line naming what is wrong.
 */
export async function verifySignedWebBundle(bytes: Uint8Array, expectedWebBundleId?: string): Promise<ParsedSignedWebBundle> {
  const block = parseIntegrityBlock(bytes);
  parseWebBundleId(block.webBundleId);
  if (expectedWebBundleId !== undefined && block.webBundleId !== expectedWebBundleId) {
    throw new Error(`Web Bundle ID is ${block.webBundleId}, expected ${expectedWebBundleId}`);
  }
  const webBundle = bytes.subarray(block.length);
  await verifyIntegrityBlock(block, webBundle);
  const parsed = withWebBundle(block, webBundle);
  const { primaryUrl, responses } = parsed;
  if (primaryUrl !== null) throw new Error(`web bundle has a primary URL (${primaryUrl}); Isolated Web Apps must not`);
  const origin = isolatedAppOrigin(block.webBundleId);
  for (const url of responses.keys()) {
    if (!url.startsWith(origin) || /[?#]/.test(url)) {
      throw new Error(`web bundle URL ${url} is not a plain URL on ${origin}`);
    }
  }
  return parsed;
}
