/**
 * HA Prometheus with Thanos, on the real programs (foundation of issue 22): two Prometheus replicas
 * scrape the same target with the external labels the Prometheus Operator gives its replicas, a
 * Thanos sidecar beside each, Thanos Query over both sidecars deduplicating on prometheus_replica.
 * A series read through Query is the series read from one Prometheus, once; dedup=false shows both
 * copies; with one Prometheus killed, Query still answers from the other. Query's count of the
 * sidecars it reaches, which ThanosQuerySidecarsMissing reads, drops when a sidecar is killed.
 */
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { join } from 'path';
import { stringify } from 'yaml';
import { PROGRAMS, programVersion } from '../support/binaries';
import { until, untilTrue } from '../support/process';
import { PrometheusServer, QueryResult } from '../support/prometheus';
import { describeWithThanos, ThanosQuery, ThanosSidecar, thanosVersion } from '../support/thanos';

/** The operator's external labels on a Prometheus's replicas: the same `prometheus`, one `prometheus_replica` each. */
const PROMETHEUS = 'monitoring/chat-monitoring';
const REPLICA_LABEL = 'prometheus_replica';
const replicaName = (i: number) => `prometheus-chat-monitoring-${i}`;

/** The target both replicas scrape: constant gauges, so both replicas store the same values. */
const METRIC = 'chat_monitoring_thanos_probe';
const SERIES: Readonly<Record<string, number>> = { a: 7, b: 11, c: 13 };
const EXPOSITION = `# TYPE ${METRIC} gauge\n${Object.entries(SERIES).map(([s, v]) => `${METRIC}{series="${s}"} ${v}`).join('\n')}\n`;

async function serveExposition(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(EXPOSITION);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}

const bySeries = (r: readonly QueryResult[]) => [...r].sort((x, y) => (x.metric.series + (x.metric[REPLICA_LABEL] ?? '')).localeCompare(y.metric.series + (y.metric[REPLICA_LABEL] ?? '')));

/** Query's StoreAPI connections, per kind (store_type) and label set (Thanos v0.42.5 pkg/query/endpointset.go). */
const CONNECTIONS = 'thanos_store_nodes_grpc_connections';

describeWithThanos('Thanos: two Prometheus replicas behind sidecars, deduplicated by Query', () => {
  let exposition: Server | undefined;
  const prometheus: PrometheusServer[] = [];
  const sidecars: ThanosSidecar[] = [];
  let query: ThanosQuery | undefined;

  beforeAll(async () => {
    exposition = await serveExposition();
    const target = `127.0.0.1:${(exposition.address() as AddressInfo).port}`;
    for (const i of [0, 1]) {
      const p = await PrometheusServer.start({
        config: stringify({
          global: { scrape_interval: '1s', external_labels: { prometheus: PROMETHEUS, [REPLICA_LABEL]: replicaName(i) } },
          scrape_configs: [{ job_name: 'probe', static_configs: [{ targets: [target] }] }],
        }),
        // As the operator runs Prometheus with a Thanos sidecar: no local compaction, 2h blocks for the sidecar to ship.
        extraArgs: ['--storage.tsdb.min-block-duration=2h', '--storage.tsdb.max-block-duration=2h'],
      });
      prometheus.push(p);
      sidecars.push(await ThanosSidecar.start({ prometheusUrl: p.url, tsdbPath: join(p.workdir, 'data') }));
    }
    query = await ThanosQuery.start({ endpoints: sidecars.map((s) => s.grpcAddress), replicaLabels: [REPLICA_LABEL] });
    // Both sidecars known to Query and both replicas scraped: every series twice without deduplication.
    // A Thanos process that exits (a sidecar built without slicelabels panics on Query's first call) ends the wait.
    const exited = () => [...sidecars, query!].find((t) => !t.running);
    const waited = await until('both replicas\' copies of every series through Query', async () =>
      exited() ?? (((await query!.query(METRIC, { dedup: false })).result.length === 2 * Object.keys(SERIES).length) || undefined));
    if (waited !== true) throw new Error(`a Thanos process exited:\n${waited.output.slice(-3000)}`);
  }, 180000);

  afterAll(async () => {
    await query?.stop();
    for (const s of sidecars) await s.stop();
    for (const p of prometheus) await p.stop();
    if (exposition) await new Promise((resolve) => exposition!.close(resolve));
  });

  it('runs the pinned Thanos release, built with the release build\'s tags', () => {
    const out = thanosVersion();
    expect(out).toContain(`version ${programVersion(PROGRAMS.find((p) => p.name === 'thanos')!).replace(/^v/, '')} `);
    expect(out).toMatch(/tags:\s+netgo,slicelabels/);
  });

  it('deduplicated: each series once, without the replica label, with the value Prometheus itself gives', async () => {
    const time = Date.now() / 1000;
    const direct = bySeries(await prometheus[0].query(METRIC, time));
    const through = await query!.query(METRIC, { time });
    expect(direct.map((r) => r.metric.series)).toEqual(Object.keys(SERIES));
    expect(through.warnings).toEqual([]);
    const got = bySeries(through.result);
    expect(got.map((r) => r.metric)).toEqual(direct.map((r) => ({ ...r.metric, prometheus: PROMETHEUS })));
    expect(got.map((r) => r.value)).toEqual(direct.map((r) => r.value));
    expect(got.map((r) => Number(r.value![1]))).toEqual(Object.values(SERIES));
    // The sidecars answered the Store API and are still up (a build without slicelabels panics here).
    for (const s of sidecars) {
      expect(s.running).toBe(true);
      expect(s.output).not.toMatch(/panic/);
    }
  });

  it('dedup=false: two series for each, one per replica', async () => {
    const got = bySeries((await query!.query(METRIC, { dedup: false })).result);
    expect(got.map((r) => [r.metric.series, r.metric[REPLICA_LABEL]])).toEqual(
      Object.keys(SERIES).flatMap((s) => [[s, replicaName(0)], [s, replicaName(1)]]));
    expect(got.map((r) => r.metric.prometheus)).toEqual(got.map(() => PROMETHEUS));
  });

  it('with one Prometheus killed, Query still answers every series from the other', async () => {
    const killed = prometheus[1];
    process.kill(killed.pid!, 'SIGKILL');
    await untilTrue(`${replicaName(1)} (pid ${killed.pid}) exited`, () => !killed.running);

    // Only the surviving replica's copies are left (the killed one's sidecar can no longer read it).
    const survivors = await until(`only ${replicaName(0)}'s series through Query`, async () => {
      const r = (await query!.query(METRIC, { dedup: false })).result;
      return r.length === Object.keys(SERIES).length && r.every((x) => x.metric[REPLICA_LABEL] === replicaName(0)) ? r : undefined;
    }, 90000);
    expect(bySeries(survivors).map((r) => r.metric.series)).toEqual(Object.keys(SERIES));

    const time = Date.now() / 1000;
    const direct = bySeries(await prometheus[0].query(METRIC, time));
    const through = await query!.query(METRIC, { time });
    const got = bySeries(through.result);
    expect(got.map((r) => r.metric)).toEqual(direct.map((r) => ({ ...r.metric, prometheus: PROMETHEUS })));
    expect(got.map((r) => r.value)).toEqual(direct.map((r) => r.value));
    // A partial response: while Query still lists the killed replica's sidecar, it warns about that one only.
    for (const w of through.warnings) expect(w).toContain(sidecars[1].grpcAddress);
    expect(query!.running).toBe(true);
    expect(sidecars[0].running).toBe(true);
  }, 120000);

  it('Query counts the sidecars it reaches (ThanosQuerySidecarsMissing\'s signal): a sidecar whose Prometheus died still counts; one killed no longer does', async () => {
    const reached = () => query!.metric(CONNECTIONS, ['store_type="sidecar"']);
    // Replica 1's Prometheus is dead (above), but its sidecar still answers Query: that is
    // ScrapeTargetDown's (its up == 0) to report, not this signal's.
    expect(await reached()).toBe(2);
    process.kill(sidecars[1].pid!, 'SIGKILL');
    await untilTrue('Query drops the killed sidecar', async () => (await reached()) === 1, 90000, 1000);
  }, 120000);
});
