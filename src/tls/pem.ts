/** PEM (RFC 7468): the blocks of a text, each with its label and DER bytes, and DER written back as a block. */

export interface PemBlock {
  /** The label between "BEGIN " and the dashes, as written ("CERTIFICATE", "PRIVATE KEY"). */
  readonly label: string;
  /** RFC 1421 header lines ("Proc-Type: 4,ENCRYPTED") of old-style encrypted keys; empty otherwise. */
  readonly headers: readonly string[];
  /** The decoded contents, or null when the body is not base64. */
  readonly der: Uint8Array | null;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----([\s\S]*?)-----END \1-----/g;

/** Every well-formed block of the text, in order; anything around and between them is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const [, label, body] of text.matchAll(BLOCK)) {
    const lines = body!.split(/\r?\n/).map((line) => line.trim());
    const headers = lines.filter((line) => /^[A-Za-z-]+:/.test(line));
    const base64 = lines.filter((line) => !/^[A-Za-z-]+:/.test(line)).join("");
    blocks.push({ label: label!, headers, der: fromBase64(base64) });
  }
  return blocks;
}

function fromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const binary = atob(text);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** DER as a PEM block: base64 in lines of 64 characters, ending with a newline. */
export function toPem(label: string, der: Uint8Array): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
