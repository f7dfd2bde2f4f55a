/**
 * compactorPlan (test/support/thanos.ts), the model of Thanos's compaction planner that
 * test/chain/thanos-ha.chain.test.ts holds the real Compactor to, on block sets whose outcome is
 * worked out by hand from the planner's rules: the newest block is left out; the first aligned
 * range (2 h, 8 h, 2 d, 14 d) holding two or more blocks that is whole or ends by the start of the
 * newest block left in becomes one block; again until nothing is planned.
 */
import { compactorPlan } from '../support/thanos';

const at = (hh: number, mm: number, ss = 0, ms = 0) => Date.UTC(2026, 11, 7, hh, mm, ss, ms);
const sidecar = (from: number, to: number) => ({ minTime: from, maxTime: to, source: 'sidecar' });
const plan = (blocks: ReturnType<typeof sidecar>[]) => compactorPlan(blocks);

describe('compactorPlan', () => {
  it('leaves minute blocks within one 2 h range as uploaded (a run from 11:23 to 11:28 UTC)', () => {
    const blocks = [sidecar(at(11, 23, 3, 607), at(11, 24)), sidecar(at(11, 24, 0, 200), at(11, 25)), sidecar(at(11, 25, 0, 400), at(11, 26))];
    expect(plan(blocks)).toEqual(blocks.map((b) => [b.minTime, b.maxTime, 'sidecar']));
  });

  it('merges the blocks before an even UTC hour once a block after it is not the newest (a run across 12:00 UTC)', () => {
    const blocks = [
      sidecar(at(11, 58, 58, 429), at(11, 59)), sidecar(at(11, 59, 0, 51), at(12, 0)),
      sidecar(at(12, 0, 0, 292), at(12, 1)), sidecar(at(12, 1, 0, 400), at(12, 2)),
    ];
    expect(plan(blocks)).toEqual([
      [at(11, 58, 58, 429), at(12, 0), 'compactor'],
      [at(12, 0, 0, 292), at(12, 1), 'sidecar'],
      [at(12, 1, 0, 400), at(12, 2), 'sidecar'],
    ]);
  });

  it('keeps them while the block after the hour is the newest (it is left out, so the range may still grow)', () => {
    const blocks = [sidecar(at(11, 58, 58, 429), at(11, 59)), sidecar(at(11, 59, 0, 51), at(12, 0)), sidecar(at(12, 0, 0, 292), at(12, 1))];
    // 2 h range [10:00, 12:00] holds the first two; it is not whole (2 min) and ends at 12:00,
    // after the start of the newest block left in (11:59:00.051).
    expect(plan(blocks)).toEqual(blocks.map((b) => [b.minTime, b.maxTime, 'sidecar']));
  });

  it('compacts four whole 2 h blocks into the 8 h range they fill, not the newest after it', () => {
    const blocks = [0, 2, 4, 6, 8].map((h) => sidecar(at(h, 0), at(h + 2, 0)));
    expect(plan(blocks)).toEqual([[at(0, 0), at(8, 0), 'compactor'], [at(8, 0), at(10, 0), 'sidecar']]);
  });
});
