// Bundles main.ts for `npm run synth`: esbuild strips types in milliseconds, where ts-node
// type-checks ~1.2 MB of generated imports on every run. `npm test` runs tsc for the types.
// Written to a temporary file and renamed, so a concurrent run never reads a half-written bundle.
const { mkdirSync, renameSync, writeFileSync } = require('fs');
const { dirname } = require('path');

const { outputFiles } = require('esbuild').buildSync({
  entryPoints: ['main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outfile: '.build/main.js',
  logLevel: 'warning',
  write: false,
});
for (const file of outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const tmp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, file.path);
}
