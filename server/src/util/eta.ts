// The time left of a scan, from how long the part done took: the same
// estimate for a backfill's progress and a Count's.

/** Milliseconds left at `fraction` done after `elapsedMs`; 0 when unknown (nothing done yet) or done. */
export function etaMs(elapsedMs: number, fraction: number): number {
  return fraction > 0 && fraction < 1 ? Math.round((elapsedMs / fraction) * (1 - fraction)) : 0;
}
