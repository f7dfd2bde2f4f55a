/** `npm run bench` leaves the tracked bench/RESULTS.md alone unless asked to record the run there. */
import { parseBenchArgs } from '../../bench/lib/args';

describe('bench flags', () => {
  it('does not write bench/RESULTS.md by default, and does with --write', () => {
    expect(parseBenchArgs([])).toEqual({ write: false, help: false });
    expect(parseBenchArgs(['--write'])).toEqual({ write: true, help: false });
    expect(parseBenchArgs(['--help']).help).toBe(true);
  });
  it('refuses anything else with the usage', () => {
    expect(() => parseBenchArgs(['--wirte'])).toThrow(/unknown argument --wirte\nusage: npm run bench -- \[--write\]/);
  });
});
