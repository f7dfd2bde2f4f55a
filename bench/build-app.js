// The bundling step of cdk8s.yaml's `app` (scripts/build-app.js), with the entry point and output
// file as arguments so the benchmark can bundle any app the same way without touching the repo's
// .build/ (which `npm run synth` of other processes may be reading at the same time).
// Usage: node bench/build-app.js <entry.ts> <outfile.js>
const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: node bench/build-app.js <entry.ts> <outfile.js>');
  process.exit(2);
}
require('esbuild').buildSync({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outfile,
  logLevel: 'warning',
});
