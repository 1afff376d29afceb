/**
 * Record protection (RFC 8446 §5.2–5.3): AES-GCM over TLSInnerPlaintext, the nonce being the traffic IV XOR the
 * record's sequence number, the record header as additional data. One RecordCipher per direction and key
 * generation; sequence numbers are taken in call order, so records may be sealed concurrently and written in order.
 */

import { AlertDescription, TlsAlertError } from "./alert.js";
import { type CipherSuite, IV_LENGTH, TAG_LENGTH } from "./cipher-suite.js";
import { hkdfExpandLabel } from "./key-schedule.js";
import type { Aead, TlsPrimitives } from "./primitives.js";

export const ContentType = { change_cipher_spec: 20, alert: 21, handshake: 22, application_data: 23 } as const;

/** Largest TLSPlaintext fragment (2^14) and the most a TLSCiphertext may exceed it by (RFC 8446 §5.2). */
export const MAX_PLAINTEXT = 16384;
export const MAX_CIPHERTEXT = MAX_PLAINTEXT + 256;
export const RECORD_HEADER_LENGTH = 5;

/** Past this many records under one key, the AES-GCM limits of RFC 8446 §5.5 call for a KeyUpdate; this server closes long before. */
const MAX_SEQUENCE = 2 ** 48;

export class RecordCipher {
  private sequence = 0;

  /** Records sealed or opened under this key so far. */
  get records(): number {
    return this.sequence;
  }

  private constructor(
    private readonly aead: Aead,
    private readonly iv: Uint8Array,
  ) {}

  static async fromSecret(p: TlsPrimitives, suite: CipherSuite, trafficSecret: Uint8Array): Promise<RecordCipher> {
    const [keyBytes, iv] = await Promise.all([
      hkdfExpandLabel(p, suite, trafficSecret, "key", new Uint8Array(0), suite.keyLength),
      hkdfExpandLabel(p, suite, trafficSecret, "iv", new Uint8Array(0), IV_LENGTH),
    ]);
    return new RecordCipher(await p.aesGcm(keyBytes), iv);
  }

  private nextNonce(): Uint8Array {
    if (this.sequence >= MAX_SEQUENCE) throw new TlsAlertError(AlertDescription.internal_error, "sequence number exhausted");
    const nonce = this.iv.slice();
    let sequence = this.sequence++;
    for (let i = IV_LENGTH - 1; i >= IV_LENGTH - 7 && sequence > 0; i--) {
      nonce[i]! ^= sequence % 256;
      sequence = Math.floor(sequence / 256);
    }
    return nonce;
  }

  /**
   * The records (headers included) carrying `content` of `type`, cut into fragments of at most `fragmentSize`
   * bytes, in one buffer: the fragments are encrypted concurrently and copied once, straight into place.
   */
  async seal(type: number, content: Uint8Array, fragmentSize = MAX_PLAINTEXT): Promise<Uint8Array> {
    const headers: Uint8Array[] = [];
    const ciphertexts: (Uint8Array | Promise<Uint8Array>)[] = [];
    let offset = 0;
    do {
      const fragment = content.subarray(offset, offset + fragmentSize);
      offset += fragment.length;
      const inner = new Uint8Array(fragment.length + 1);
      inner.set(fragment);
      inner[fragment.length] = type;
      const length = inner.length + TAG_LENGTH;
      const header = Uint8Array.of(ContentType.application_data, 3, 3, length >> 8, length & 0xff);
      headers.push(header);
      ciphertexts.push(this.aead.seal(this.nextNonce(), header, inner));
    } while (offset < content.length);
    const sealed = await Promise.all(ciphertexts);
    let total = 0;
    for (const ciphertext of sealed) total += RECORD_HEADER_LENGTH + ciphertext.byteLength;
    const records = new Uint8Array(total);
    let at = 0;
    sealed.forEach((ciphertext, index) => {
      records.set(headers[index]!, at);
      records.set(ciphertext, at + RECORD_HEADER_LENGTH);
      at += RECORD_HEADER_LENGTH + ciphertext.byteLength;
    });
    return records;
  }

  /** The inner content type and content of a protected record; bad_record_mac when it does not authenticate. */
  async open(header: Uint8Array, body: Uint8Array): Promise<{ type: number; content: Uint8Array }> {
    if (body.length < TAG_LENGTH + 1) throw new TlsAlertError(AlertDescription.bad_record_mac, "protected record too short");
    const nonce = this.nextNonce();
    let inner: Uint8Array;
    try {
      inner = await this.aead.open(nonce, header, body);
    } catch {
      throw new TlsAlertError(AlertDescription.bad_record_mac, "record failed authentication");
    }
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    if (end < 0) throw new TlsAlertError(AlertDescription.unexpected_message, "protected record with no content type");
    if (end > MAX_PLAINTEXT) throw new TlsAlertError(AlertDescription.record_overflow, "protected record content over 2^14 bytes");
    return { type: inner[end]!, content: inner.subarray(0, end) };
  }
}
