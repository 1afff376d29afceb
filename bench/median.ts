/** The middle value (the upper of the two middle ones for an even count) of a non-empty list of figures. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
