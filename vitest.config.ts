// One vitest config for the workspace. `npm test` at the root runs every package's tests; a
// package's own `test` script runs this config with its folder as the root.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `@sluice/source` resolves sibling packages to their TypeScript sources. Vite's default server
// conditions start with `module`, which sends some packages (the AWS SDK) to builds that Node
// cannot load; resolve dependencies the way Node does instead.
const conditions = ['@sluice/source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['**/src/**/*.test.ts', '**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/.sluice/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { METADATA_SERVER_DETECTION: 'none' },
    // Starts the local services the suite needs (PostgreSQL, MariaDB, ...) unless they run.
    globalSetup: [fileURLToPath(new URL('./test/global-setup.ts', import.meta.url))],
    // CI (.ci/run) reads the JSON report to print its "N passed, N failed" summary.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.ci/out/vitest.json' }]]
      : ['default'],
  },
});
