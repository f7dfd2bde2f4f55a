/**
 * The kind end-to-end suite (`npm run test:e2e`); not part of `npm test`.
 * It skips with one line where Docker, kind or the cluster "chat-monitoring" is missing.
 *
 * @kubernetes/client-node 1.x is ESM-only, and Jest's CommonJS runtime cannot import ESM without
 * --experimental-vm-modules (which `jest` on the command line does not pass). So the global setup
 * bundles it into one CommonJS file with esbuild, the mapper below points the package name at that
 * file, and the tests compile `await import('@kubernetes/client-node')` to `require` (module
 * commonjs here; `tsc -p .` type-checks the same source against the real package's ESM types).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', {
      tsconfig: { module: 'commonjs', moduleResolution: 'node', target: 'ES2022', esModuleInterop: true, resolveJsonModule: true, isolatedModules: true },
    }],
  },
  moduleNameMapper: { '^@kubernetes/client-node$': '<rootDir>/.build/e2e/kubernetes-client-node.cjs' },
  globalSetup: '<rootDir>/test/e2e/global-setup.js',
  // Rollouts, first scrapes and rule evaluations on a fresh cluster take minutes.
  testTimeout: 15 * 60 * 1000,
};
