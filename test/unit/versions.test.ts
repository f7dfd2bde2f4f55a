/** npm run versions (scripts/versions.ts): how a pin is judged against the versions the proxy lists. */
import { compareVersions, judge, Pin, pins } from '../../scripts/versions';
import { PROGRAMS, programVersion } from '../support/binaries';

const pin = (pinned: string, track: Pin['track'] = 'newest'): Pin => ({ what: 'x', module: 'example.com/x', pinned, track });

describe('npm run versions', () => {
  it('orders versions numerically, a pre-release before its release', () => {
    expect(compareVersions('v0.152.0', 'v0.99.0')).toBeGreaterThan(0);
    expect(compareVersions('v1.37.0', 'v1.37.2')).toBeLessThan(0);
    expect(compareVersions('v1.38.0-beta.0', 'v1.38.0')).toBeLessThan(0);
    expect(compareVersions('v3.7.4', 'v3.7.4')).toBe(0);
  });

  it('flags a pin behind the newest release, ignoring pre-releases', () => {
    expect(judge(pin('v1.37.0'), ['v1.35.4', 'v1.37.2', 'v1.38.0-beta.0'])).toEqual({ newest: 'v1.37.2', status: 'behind' });
    expect(judge(pin('v1.37.2'), ['v1.35.4', 'v1.37.2', 'v1.38.0-beta.0'])).toEqual({ newest: 'v1.37.2', status: 'current' });
  });

  it('a same-minor pin (an LTS line) is current at the newest patch of its minor', () => {
    const listed = ['v0.313.4', 'v0.313.5', 'v0.316.0'];
    expect(judge(pin('v0.313.5', 'same-minor'), listed)).toEqual({ newest: 'v0.313.5', status: 'current' });
    expect(judge(pin('v0.313.4', 'same-minor'), listed)).toEqual({ newest: 'v0.313.5', status: 'behind' });
    expect(judge(pin('v0.313.5'), listed)).toEqual({ newest: 'v0.316.0', status: 'behind' });
  });

  it('says when the proxy\'s list stops below the pin, or lists nothing', () => {
    expect(judge(pin('v0.93.1'), ['v0.85.0']).status).toBe('list-partial');
    expect(judge(pin('v0.93.1'), []).status).toBe('unlisted');
  });

  it('reads every program\'s pin from its go.mod, the collector\'s from its manifest', () => {
    const all = pins();
    for (const p of PROGRAMS.filter((x) => x.name !== 'collector')) {
      expect(all).toContainEqual(expect.objectContaining({ what: p.name, module: p.versionModule, pinned: programVersion(p) }));
    }
    expect(all.filter((p) => p.what.startsWith('collector ')).length).toBeGreaterThan(5);
    expect(all.find((p) => p.module === 'sigs.k8s.io/kind')?.pinned).toMatch(/^v0\.\d+\.\d+$/);
  });
});
