/**
 * argsForHere(): a Thanos container's args from the chart, made runnable on a test machine without
 * losing any flag the chart chose (test/contract/thanos-store.smoke.test.ts runs the Store and the
 * Compactor with them).
 */
import { argsForHere, queryArgsForHere } from '../support/thanos';

describe('argsForHere', () => {
  const chart = ['compact', '--wait', '--data-dir=/var/thanos/compact', '--objstore.config-file=/etc/thanos/objstore.yml',
    '--http-address=0.0.0.0:10902', '--log.level=info', '--retention.resolution-raw=30d', '--retention.resolution-5m=90d', '--retention.resolution-1h=1y'];

  it('drops the subcommand, the pod\'s paths, addresses and log level, keeps every other flag in order', () => {
    expect(argsForHere(chart, 'compact')).toEqual(['--wait', '--retention.resolution-raw=30d', '--retention.resolution-5m=90d', '--retention.resolution-1h=1y']);
  });

  it('keeps args without the subcommand as they are', () => {
    expect(argsForHere(chart.slice(1), 'compact')).toEqual(argsForHere(chart, 'compact'));
  });

  it('replaces a flag the test sets, adds one the chart lacks, and drops what it is told to', () => {
    expect(argsForHere(chart, 'compact', { '--retention.resolution-raw': '50h', '--delete-delay': '0s' }, ['--wait'])).toEqual(
      ['--retention.resolution-5m=90d', '--retention.resolution-1h=1y', '--retention.resolution-raw=50h', '--delete-delay=0s']);
  });

  it('Query: resolves each StoreAPI address of the chart\'s --endpoint.sd-config to the local ones, keeps every other flag', () => {
    const srv = 'dnssrv+_grpc._tcp.prometheus-operated.monitoring.svc.cluster.local';
    const query = ['query', '--grpc-address=0.0.0.0:10901', '--http-address=0.0.0.0:10902', '--log.format=logfmt',
      `--endpoint.sd-config=${JSON.stringify({ endpoints: [{ address: srv }] })}`, '--query.replica-label=prometheus_replica'];
    const local = queryArgsForHere(query, (a) => (a === srv ? ['127.0.0.1:1', '127.0.0.1:2'] : []));
    expect(local).toEqual(['--log.format=logfmt', '--query.replica-label=prometheus_replica',
      `--endpoint.sd-config=${JSON.stringify({ endpoints: [{ address: '127.0.0.1:1' }, { address: '127.0.0.1:2' }] })}`]);
    expect(() => queryArgsForHere(query.filter((a) => !a.startsWith('--endpoint.sd-config')), () => [])).toThrow(/0 --endpoint.sd-config/);
  });
});
