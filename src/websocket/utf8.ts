/**
 * Incremental UTF-8 validation (the WHATWG decoder's rules, RFC 3629): bytes can arrive split anywhere,
 * an invalid sequence is reported at its first bad byte (RFC 6455 asks to fail fast), and nothing is
 * decoded or allocated on the way.
 */
export class Utf8Validator {
  private needed = 0;
  private seen = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** False as soon as `bytes` makes the text so far invalid. */
  push(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (this.needed === 0) {
        if (byte < 0x80) continue;
        if (byte >= 0xc2 && byte <= 0xdf) this.needed = 1;
        else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) this.lower = 0xa0;
          else if (byte === 0xed) this.upper = 0x9f;
          this.needed = 2;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) this.lower = 0x90;
          else if (byte === 0xf4) this.upper = 0x8f;
          this.needed = 3;
        } else return false;
        continue;
      }
      if (byte < this.lower || byte > this.upper) return false;
      this.lower = 0x80;
      this.upper = 0xbf;
      if (++this.seen === this.needed) this.needed = this.seen = 0;
    }
    return true;
  }

  /** Whether the text ended on a character boundary; resets for the next text. */
  finish(): boolean {
    const complete = this.needed === 0;
    this.needed = this.seen = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    return complete;
  }
}
