/**
 * P-256 public key points: integrity blocks and Web Bundle IDs carry them compressed (33 bytes), Web Crypto
 * exports and imports them uncompressed (65 bytes). Decompression solves y² = x³ - 3x + b (mod p); p ≡ 3 (mod 4),
 * so the square root is a single exponentiation.
 */

const p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function toBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

export function compressP256Point(uncompressed: Uint8Array): Uint8Array {
  if (uncompressed.length !== 65 || uncompressed[0] !== 0x04) throw new Error("P-256: expected a 65-byte uncompressed point");
  const compressed = new Uint8Array(33);
  compressed[0] = 0x02 | (uncompressed[64]! & 1);
  compressed.set(uncompressed.subarray(1, 33), 1);
  return compressed;
}

export function decompressP256Point(compressed: Uint8Array): Uint8Array {
  const prefix = compressed[0];
  if (compressed.length !== 33 || (prefix !== 0x02 && prefix !== 0x03)) {
    throw new Error("P-256: expected a 33-byte compressed point");
  }
  const x = toBigInt(compressed.subarray(1));
  if (x >= p) throw new Error("P-256: x coordinate out of range");
  const ySquared = (((x * x * x - 3n * x + b) % p) + p) % p;
  let y = modPow(ySquared, (p + 1n) / 4n, p);
  if ((y * y) % p !== ySquared) throw new Error("P-256: point is not on the curve");
  if ((y & 1n) !== BigInt(prefix & 1)) y = p - y;
  const uncompressed = new Uint8Array(65);
  uncompressed[0] = 0x04;
  uncompressed.set(compressed.subarray(1), 1);
  uncompressed.set(toBytes(y, 32), 33);
  return uncompressed;
}
