/**
 * Bundles the ESM-only @kubernetes/client-node into one CommonJS file for Jest (see
 * jest.e2e.config.js). Rebuilt only when the installed package is newer than the bundle (~1 s).
 */
const { existsSync, statSync } = require('fs');
const { join } = require('path');

module.exports = async function globalSetup() {
  const root = join(__dirname, '..', '..');
  const out = join(root, '.build', 'e2e', 'kubernetes-client-node.cjs');
  const pkg = require.resolve('@kubernetes/client-node/package.json', { paths: [root] });
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(pkg).mtimeMs) return;
  const { buildSync } = require('esbuild');
  buildSync({
    entryPoints: [join(pkg, '..', 'dist', 'index.js')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: out,
    logLevel: 'error',
    // Some dependencies resolve files relative to import.meta.url.
    define: { 'import.meta.url': '__e2eImportMetaUrl' },
    banner: { js: "var __e2eImportMetaUrl=require('url').pathToFileURL(__filename).href;" },
  });
};
