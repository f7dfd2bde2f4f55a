/**
 * The timing a push service's series follow, stated here for the tests independently of lib/ (which
 * derives the same figures in lib/queries/http.ts): a pushed point keeps the time it was measured
 * and reaches Prometheus only at the next scrape of the collector replica holding it, which
 * Prometheus may first have to discover.
 */

/** How long Prometheus may take to discover a new target and start scraping it (two 5 s throttles). */
export const TARGET_DISCOVERY_SECONDS = 10;

/**
 * How far behind the clock a service's recording rules evaluate: a push service's run a scrape
 * interval plus a target's discovery behind, so every moved pod's points are in before a rule reads
 * them; a pull service's run on time.
 */
export function ruleOffsetSeconds(exportMode: 'push' | 'pull', scrapeIntervalSeconds: number): number {
  return exportMode === 'push' ? scrapeIntervalSeconds + TARGET_DISCOVERY_SECONDS : 0;
}
