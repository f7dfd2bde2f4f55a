/**
 * Bundles demo/app/chat-demo.ts and its OpenTelemetry dependencies into one CommonJS file that
 * a stock node image runs from a ConfigMap (no image build, no registry).
 */
import { buildSync } from 'esbuild';
import { join } from 'path';

export const DEMO_ENTRY = join(__dirname, 'app', 'chat-demo.ts');
/** File name of the bundle inside the ConfigMap and the container (/app/<name>). */
export const BUNDLE_FILE = 'chat-demo.js';
/** A ConfigMap holds at most 1 MiB; keep a margin for the rest of the object. */
export const MAX_BUNDLE_BYTES = 900 * 1024;

let cached: string | undefined;

export function buildDemoBundle(): string {
  if (cached !== undefined) return cached;
  const result = buildSync({
    entryPoints: [DEMO_ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
    // Prefer the packages' CommonJS builds: the ESM build of the OTLP gRPC exporter loads
    // @grpc/grpc-js through createRequire(import.meta.url), which a bundle cannot follow.
    conditions: ['require'],
    define: { 'import.meta.url': '__demoImportMetaUrl' },
    banner: { js: "var __demoImportMetaUrl=require('url').pathToFileURL(__filename).href;" },
  });
  const text = result.outputFiles[0].text;
  if (Buffer.byteLength(text) > MAX_BUNDLE_BYTES) {
    throw new Error(`demo bundle is ${Buffer.byteLength(text)} bytes, more than a ConfigMap can hold (${MAX_BUNDLE_BYTES})`);
  }
  cached = text;
  return text;
}
