/** The `Date` header value (RFC 9110 §5.6.7), formatted at most once per second. */
let cachedSecond = -1;
let cachedValue = "";

export function httpDate(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedValue = new Date(second * 1000).toUTCString();
  }
  return cachedValue;
}
