// Validates Kubernetes objects (JSON array on stdin) with the schema validators of kubernetes-models
// and @kubernetes-models/prometheus-operator. These packages are ES modules only, which Jest's
// CommonJS runtime cannot import, so schema.ts runs this file with node.
// Output (stdout): JSON array, one entry per input object: { errors: [{ path, message }] }.
const MODEL_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};
const CORE_PACKAGE = 'kubernetes-models';

async function modelClass(apiVersion, kind) {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const pkg = MODEL_PACKAGES[group] ?? (group === '' || group.endsWith('.k8s.io') || !group.includes('.') ? CORE_PACKAGE : undefined);
  if (!pkg) return undefined;
  try {
    const mod = await import(`${pkg}/${apiVersion}/${kind}`);
    return mod[kind];
  } catch {
    return undefined;
  }
}

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const results = [];
for (const obj of input) {
  const Model = await modelClass(String(obj.apiVersion), String(obj.kind));
  if (!Model || Model.kind !== obj.kind || Model.apiVersion !== obj.apiVersion) {
    results.push({ errors: [{ path: '', message: `no schema for ${obj.apiVersion} ${obj.kind}` }] });
    continue;
  }
  try {
    new Model(obj).validate();
    results.push({ errors: [] });
  } catch (e) {
    const details = e.errors ?? e.details;
    results.push({
      errors: Array.isArray(details) && details.length > 0
        ? details.map((d) => ({ path: d.instancePath ?? '', message: `${d.message ?? d.keyword}${d.params ? ` ${JSON.stringify(d.params)}` : ''}` }))
        : [{ path: '', message: e.message }],
    });
  }
}
process.stdout.write(JSON.stringify(results));
