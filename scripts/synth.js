// `npm run synth`: bundles main.ts and runs it. The app writes dist/ and dashboards/ itself and
// prints one line (or, on bad config, one error line and exit 1). Going through the cdk8s CLI
// instead would add its own error banner and stack, an npm upgrade check, and a list of its
// scratch copy in .cdk8s.out/.
const { spawnSync } = require('child_process');
const { join } = require('path');

const root = join(__dirname, '..');
process.chdir(root);
try {
  require('./build-app.js');
} catch {
  console.error('chat-monitoring: bundling main.ts failed (esbuild printed why above)');
  process.exit(1);
}
const app = spawnSync(process.execPath, [join(root, '.build', 'main.js')], { cwd: root, stdio: 'inherit' });
if (app.error) {
  console.error(`chat-monitoring: cannot run the app: ${app.error.message}`);
  process.exit(1);
}
process.exit(app.status ?? 1);
