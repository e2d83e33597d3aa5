#!/usr/bin/env node
// The `sluice` command. npm links a package's bins at install time, and only to files that exist
// then: in a clone, `npm ci` runs before the build creates dist/, so the bin is this committed,
// executable file (not dist/cli.js) and the link exists from the first install on.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';

// Node keeps the compiled code of the ~1300 modules the CLI loads in a cache folder (the OS's
// temporary folder, or NODE_COMPILE_CACHE), so every start after the first skips compiling them:
// about 15 % of the CPU of loading them, measured. A folder that cannot be written just means no
// cache.
enableCompileCache?.();

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error(
    'sluice: the CLI is not built yet (apps/server/dist/cli.js is missing).\n' +
      'In a clone of the repository, build it with `npm run quickstart` or `npx nx run-many -t build`.',
  );
  process.exit(1);
}
await import(cli.href);
