/**
 * The baseline for `npm run bench`: a hello-world cdk8s chart with one Deployment, written with the
 * same libraries as the real chart (cdk8s + cdk8s-plus-28's L1 `k8s` API), synthesized the same way.
 * Output goes to $CDK8S_OUTDIR (set by the cdk8s CLI, and by the benchmark) or dist/.
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';

const app = new App();
const chart = new Chart(app, 'hello');
const labels = { 'app.kubernetes.io/name': 'hello' };
new k8s.KubeDeployment(chart, 'deployment', {
  metadata: { name: 'hello', labels },
  spec: {
    replicas: 1,
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: { containers: [{ name: 'hello', image: 'nginx:1.27.5', ports: [{ containerPort: 80 }] }] },
    },
  },
});
app.synth();
