/** TLS's symmetric primitives on node:crypto, synchronous (see primitives.ts); Node only, never in the browser. */

import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import type { HashName, TlsPrimitives } from "./primitives.js";

const NODE_HASH: Record<HashName, string> = { "SHA-256": "sha256", "SHA-384": "sha384" };
const TAG_LENGTH = 16;

const view = (buffer: Buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

export const nodePrimitives: TlsPrimitives = {
  name: "node-crypto",
  hmac: (hash, key, data) => view(createHmac(NODE_HASH[hash], key).update(data).digest()),
  digest: (hash, data) => view(createHash(NODE_HASH[hash]).update(data).digest()),
  async aesGcm(key) {
    const algorithm = `aes-${key.length * 8}-gcm` as "aes-128-gcm";
    return {
      seal(nonce, additionalData, plaintext) {
        const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: TAG_LENGTH });
        cipher.setAAD(additionalData);
        const out = new Uint8Array(plaintext.length + TAG_LENGTH);
        out.set(cipher.update(plaintext));
        cipher.final();
        out.set(cipher.getAuthTag(), plaintext.length);
        return out;
      },
      open(nonce, additionalData, sealed) {
        if (sealed.length < TAG_LENGTH) throw new Error("sealed data shorter than its tag");
        const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_LENGTH });
        decipher.setAAD(additionalData);
        decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
        const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
        decipher.final();
        return view(plaintext);
      },
    };
  },
};
