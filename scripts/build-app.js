// Bundles main.ts for `cdk8s synth`: esbuild strips types in milliseconds, where ts-node
// type-checks ~1.2 MB of generated imports on every run. `npm test` runs tsc for the types.
require('esbuild').buildSync({
  entryPoints: ['main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outfile: '.build/main.js',
  logLevel: 'warning',
});
