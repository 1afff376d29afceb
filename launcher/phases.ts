/**
 * How long each phase of a start took, for the launcher's summary: build, sign (or "reused"), Chromium start,
 * install, launch, first answer.
 */

export interface Phase {
  name: string;
  ms: number;
  /** "reused", "esbuild", ...: how the phase was done, when it can be done more than one way. */
  note?: string;
}

/** Measures consecutive phases: each `mark` ends the phase that began at the previous mark (or at creation). */
export class PhaseClock {
  readonly phases: Phase[] = [];
  #since = performance.now();

  mark(name: string, note?: string): Phase {
    const now = performance.now();
    const phase: Phase = { name, ms: now - this.#since, ...(note === undefined ? {} : { note }) };
    this.#since = now;
    this.phases.push(phase);
    return phase;
  }

  /** Starts the next phase now, leaving the time since the last mark out of every phase. */
  restart(): void {
    this.#since = performance.now();
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "build 0.31 s · sign reused 0.02 s · Chromium start 0.84 s" */
export function formatPhases(phases: readonly Phase[]): string {
  return phases.map(({ name, ms, note }) => `${name}${note ? ` ${note}` : ""} ${formatSeconds(ms)}`).join(" · ");
}
