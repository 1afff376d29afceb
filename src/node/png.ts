/** A small PNG writer (RGBA, 8 bits a channel, no interlace) over node:zlib: the icon `browser-httpd init` writes. */
import { deflateSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A PNG of `width` × `height` pixels, each [r, g, b, a] from `pixel(x, y)`. */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => readonly number[]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, adaptive filtering, no interlace
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 4); // filter byte 0: none
    for (let x = 0; x < width; x++) rows.set(pixel(x, y).slice(0, 4), row + 1 + x * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** The icon `init` writes: a 256 × 256 rounded dark square with a light ring, browser-httpd's colours. */
export function appIcon(size = 256): Buffer {
  const centre = (size - 1) / 2;
  const corner = size * 0.18;
  return encodePng(size, size, (x, y) => {
    // Rounded corners: transparent outside a quarter circle of radius `corner` at each corner.
    const dx = Math.max(corner - x, x - (size - 1 - corner), 0);
    const dy = Math.max(corner - y, y - (size - 1 - corner), 0);
    if (dx * dx + dy * dy > corner * corner) return [0, 0, 0, 0];
    const r = Math.hypot(x - centre, y - centre) / size;
    return r > 0.22 && r < 0.3 ? [0x5e, 0xc8, 0xf2, 255] : [0x10, 0x15, 0x1c, 255];
  });
}
