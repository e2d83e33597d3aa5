#!/usr/bin/env node
// `npm create @sluice/plugin` runs this bin. npm links a package's bins at install time, and only
// to files that exist then: in a clone, `npm ci` runs before the build creates dist/, so the bin
// is this committed file (not dist/cli.js) and the link exists from the first install on.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error(
    'create-plugin: not built yet (dist/cli.js is missing); in a clone, run `npx nx run-many -t build`.',
  );
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = main(process.argv.slice(2));
