/**
 * The collector drops the Host-header family and sums the streams that then coincide: callers using
 * five Host headers make one series per route and status, whose count is every request, not the
 * last stream's. Real chat service -> real collector on the chart's config (k8sattributes stubbed),
 * read at the service's exporter.
 */
import { request } from 'http';
import { ChatService, describeWithChatService } from '../support/chat-service';
import { chartCollectorConfig, COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE } from '../support/collector';
import { defaultConfig } from '../support/manifests';
import { sleep } from '../support/process';

const config = defaultConfig();
const auth = config.services.find((s) => s.name === 'chat-auth') ?? config.services[0];
const POD = `${auth.name}-7c9d8-hosts`;
const HOSTS = [auth.name, `${auth.name}:8000`, `${auth.name}.${auth.namespace}`, `${auth.name}.${auth.namespace}.svc.cluster.local:8000`, '10.244.1.17:8000'];

describeWithChatService('collector drops the Host-header family and sums what coincides', COLLECTOR_BINARIES, () => {
  let collector: RunningCollector | undefined;
  let service: ChatService | undefined;

  beforeAll(async () => {
    collector = await RunningCollector.start({ config: chartCollectorConfig(config), identity: { stub: [{ namespace: auth.namespace, name: POD, labels: { ...auth.selector } }] } });
    service = await ChatService.start({ kind: 'auth', collectorUrl: collector.otlpGrpcUrl, resourceAttributes: { [STUB_POD_ATTRIBUTE]: POD } });
    for (const host of HOSTS) {
      for (let i = 0; i < 2; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = request({ host: service!.host, port: service!.port, method: 'POST', path: '/sessions/login', headers: { Host: host } }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', reject);
          req.end();
        });
      }
    }
  }, 60000);

  afterAll(async () => {
    await service?.stop();
    await collector?.stop();
  });

  it(`one series per route and status, counting all ${HOSTS.length * 2} requests; no dropped label left`, async () => {
    const url = `http://${collector!.exporterTargets[`prometheus/${auth.name}`]}/metrics`;
    let lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines = (await (await fetch(url)).text()).split('\n').filter((l) => l.startsWith('http_server_duration_milliseconds_count{'));
      if (lines.some((l) => l.endsWith(` ${HOSTS.length * 2}`))) break;
      await sleep(250);
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(` ${HOSTS.length * 2}$`));
    expect(lines[0]).toContain('http_target="/sessions/login"');
    for (const label of config.collector.droppedAttributes.map((a) => a.replace(/\./g, '_'))) expect(lines[0]).not.toContain(`${label}=`);
  });
});
