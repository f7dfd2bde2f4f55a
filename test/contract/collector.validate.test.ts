/**
 * The real collector (otelcol-chat, the chart's collector release with its components) accepts the config the
 * chart synthesizes into its ConfigMap, for every config shape the tests use, and rejects a broken
 * one: `otelcol-chat validate` loads every component's config and parses the OTTL statements.
 */
import { execFileSync } from 'child_process';
import { parse, stringify } from 'yaml';
import { IDENTITY_LABELS_TRANSFORM } from '../../lib/collector/collector-config';
import { DEFAULT_IMAGES } from '../../lib/config';
import { binaryPath } from '../support/binaries';
import { ComponentKind, HARNESS_ONLY_COMPONENTS } from '../support/collector-build';
import {
  COLLECTOR_BINARY, COLLECTOR_CONFIG_VARIANTS, CollectorConfig, chartCollectorConfig, chartCollectorConfigYaml, describeWithCollector,
  freeCollectorPorts, onLoopback, validateCollectorConfig, withKubernetesIdentity,
} from '../support/collector';

/** The statements of `context` in `processor`, where a test plants a broken one. */
function statementsOf(config: CollectorConfig, processor: string, context: 'resource' | 'datapoint'): string[] {
  const group = (config.processors[processor].metric_statements as { context: string; statements: string[] }[])
    .find((g) => g.context === context);
  if (!group) throw new Error(`no ${context} statements in ${processor}`);
  return group.statements;
}

describeWithCollector('otelcol-chat validate on the chart\'s collector config', () => {
  it('the binary is the chart\'s collector release with exactly the components the config references (and the harness-only extras)', () => {
    expect(execFileSync(binaryPath(COLLECTOR_BINARY), ['--version'], { encoding: 'utf8' }).trim()).toBe(`${COLLECTOR_BINARY} version ${DEFAULT_IMAGES.collector.split(':').pop()}`);
    const listed = parse(execFileSync(binaryPath(COLLECTOR_BINARY), ['components'], { encoding: 'utf8' }));
    const config = chartCollectorConfig();
    for (const kind of ['receivers', 'processors', 'exporters', 'extensions', 'connectors']) {
      const harnessOnly = HARNESS_ONLY_COMPONENTS[kind as ComponentKind] ?? [];
      const built = (listed[kind] as { name: string }[]).map((c) => c.name).filter((n) => !harnessOnly.includes(n)).sort();
      const used = [...new Set(Object.keys(config[kind] ?? {}).map((id) => id.split('/')[0]))].sort();
      expect([kind, built]).toEqual([kind, used]);
    }
  });

  it.each(COLLECTOR_CONFIG_VARIANTS.map(([name, make]) => [name, make] as const))('accepts the synthesized ConfigMap config: %s', async (_name, make) => {
    const result = await validateCollectorConfig(chartCollectorConfigYaml(make()));
    expect(result).toEqual({ ok: true, output: '' });
  });

  it('accepts the configs the harness runs: on loopback, and with the k8sattributes stub', async () => {
    const config = chartCollectorConfig();
    const ports = await freeCollectorPorts(config); // one port per service exporter
    const stubbed = withKubernetesIdentity(config, {
      stub: [{ namespace: 'chat', name: 'chat-auth-0', labels: { 'app.kubernetes.io/name': 'chat-auth' } }],
    }).config;
    for (const c of [onLoopback(config, ports), onLoopback(stubbed, ports)]) {
      expect(await validateCollectorConfig(stringify(c))).toEqual({ ok: true, output: '' });
    }
  });

  it('rejects a resource statement with broken syntax, naming the processor', async () => {
    const config = chartCollectorConfig();
    const statements = statementsOf(config, 'transform/chat_service_identity', 'resource');
    statements[0] = statements[0].replace(/\)( where )/, '$1'); // set(a, "b" where ...: the call is never closed
    const result = await validateCollectorConfig(stringify(config));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/processors::transform\/chat_service_identity: .*invalid syntax/);
  });

  it('rejects a datapoint statement calling an OTTL function that does not exist', async () => {
    const config = chartCollectorConfig();
    const statements = statementsOf(config, IDENTITY_LABELS_TRANSFORM, 'datapoint');
    statements[0] = statements[0].replace(/^set\(/, 'sett(');
    const result = await validateCollectorConfig(stringify(config));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/transform\/chat_service_labels: .*undefined function "sett"/);
  });

  it('rejects a pipeline naming a processor that is not defined', async () => {
    const config = chartCollectorConfig();
    config.service.pipelines.metrics.processors.push('filter/missing');
    const result = await validateCollectorConfig(stringify(config));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/filter\/missing/);
  });
});
