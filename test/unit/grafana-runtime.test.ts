/**
 * What Grafana and its dashboard sidecar do once running, as far as their settings decide it: no
 * downloads from the internet, dashboards that follow their ConfigMaps (a removed service's dashboard
 * goes away), and a Service that does not depend on the sidecar. The sidecar's behaviour is that of
 * the pinned k8s-sidecar 2.10.1 (src/resources.py, src/healthz.py at that tag); a different image
 * fails the first test, so these are checked again.
 */
import { parse } from 'yaml';
import { DEFAULT_IMAGES } from '../../lib/config';
import { defaultConfig, named, ofKind, synthObjects } from '../support/manifests';
import { FIVE_SERVICES } from './properties/configs';

type Env = { name: string; value?: string };

describe.each([['default config', defaultConfig()], ['five services', FIVE_SERVICES()]] as const)('Grafana at runtime (%s)', (_name, config) => {
  const objects = synthObjects(config);
  const deployment = named(objects, 'Deployment', 'grafana');
  const containers = deployment.spec.template.spec.containers;
  const grafana = containers.find((c: { name: string }) => c.name === 'grafana');
  const sidecar = containers.find((c: { name: string }) => c.name === 'dashboard-sidecar');
  const env = (c: { env: Env[] }): Record<string, string> => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const provider = parse(named(objects, 'ConfigMap', 'grafana-provisioning').data['dashboard-providers.yaml']).providers[0];
  const dashboards = ofKind(objects, 'ConfigMap').filter((cm) => cm.metadata.labels?.[env(sidecar).LABEL] === env(sidecar).LABEL_VALUE);

  it('runs the sidecar version these checks were made against', () => {
    expect(sidecar.image).toBe(config.images.grafanaSidecar);
    expect(config.images.grafanaSidecar).toBe(DEFAULT_IMAGES.grafanaSidecar);
    expect(sidecar.image).toMatch(/:2\.10\.1$/);
  });

  it('downloads nothing: no plugin preinstall (Grafana 12 fetches its app plugins from grafana.com on first start), no signing-key fetch, no catalog installs, no public snapshots, no update checks', () => {
    expect(env(grafana)).toEqual(expect.objectContaining({
      GF_PLUGINS_PREINSTALL_DISABLED: 'true',
      GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED: 'true',
      GF_PLUGINS_PLUGIN_ADMIN_ENABLED: 'false',
      GF_SNAPSHOTS_EXTERNAL_ENABLED: 'false',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
      GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
      GF_NEWS_NEWS_FEED_ENABLED: 'false',
    }));
    expect(env(grafana).GF_PLUGINS_PREINSTALL ?? '').toBe('');
    expect(env(grafana).GF_INSTALL_PLUGINS ?? '').toBe('');
  });

  it('deletes a dashboard from Grafana when its file goes (disableDeletion off), and the provider reads the sidecar\'s folder', () => {
    expect(provider.disableDeletion).toBe(false);
    expect(provider.allowUiUpdates).toBe(false);
    expect(provider.options.path).toBe(env(sidecar).FOLDER);
  });

  it('removes the file when its ConfigMap is deleted: WATCH mode (removes files on DELETED events; SLEEP mode removed them only from 2.7.1 on)', () => {
    expect(env(sidecar).METHOD).toBe('WATCH');
    expect(env(sidecar).RESOURCE).toBe('configmap');
    expect(env(sidecar).NAMESPACE).toBe(config.namespace);
  });

  it('gives every dashboard its own file name, so removing one ConfigMap\'s file never removes another\'s', () => {
    expect(env(sidecar).UNIQUE_FILENAMES ?? 'false').toBe('false'); // files are named after their data keys
    const files = dashboards.flatMap((cm) => Object.keys(cm.data ?? {}).map((key) => `${cm.metadata.annotations?.[env(sidecar).FOLDER_ANNOTATION] ?? ''}/${key}`));
    expect(files.length).toBe(config.services.length + 2); // one per service, the overview, the stack's
    expect(new Set(files).size).toBe(files.length);
  });

  it('keeps Grafana\'s Service independent of the sidecar: the sidecar has a liveness probe and no readiness probe (its /healthz is 503 until the first sync)', () => {
    expect(sidecar.readinessProbe).toBeUndefined();
    expect(sidecar.livenessProbe.httpGet.path).toBe('/healthz');
    const healthPort = sidecar.ports.find((p: { name: string }) => p.name === sidecar.livenessProbe.httpGet.port).containerPort;
    expect(String(healthPort)).toBe(env(sidecar).HEALTH_PORT);
    expect(grafana.readinessProbe.httpGet.path).toBe('/api/health');
  });
});
