/**
 * Replaces the method `name` of `target` (a Web API's prototype or namespace) by one that passes its arguments
 * through `map` first: how the server's faster Request and Response objects are handed to the Web APIs that accept
 * only the runtime's own. Nothing happens where the method does not exist.
 */
export function mapArguments(target: object, name: string, map: (args: unknown[]) => unknown[]): void {
  const original = (target as Record<string, unknown>)[name];
  if (typeof original !== "function") return;
  Object.defineProperty(target, name, {
    value(this: unknown, ...args: unknown[]) {
      return original.apply(this, map(args));
    },
    writable: true,
    configurable: true,
  });
}
