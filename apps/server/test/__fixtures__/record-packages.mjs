// Preloaded with `node --import` into a child process: records the npm package of every module
// the process resolves (the last `node_modules/<name>` of its URL; workspace packages resolve to
// their own folders and are not listed) and writes the sorted names as JSON to the file named by
// SLUICE_TEST_PACKAGES_OUT when the process exits. The lazy-plugin test reads it.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import process from 'node:process';

const packages = new Set();
const PACKAGE = /^.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    const name = PACKAGE.exec(result.url)?.[1];
    if (name !== undefined) packages.add(name);
    return result;
  },
});

process.on('exit', () => {
  const out = process.env.SLUICE_TEST_PACKAGES_OUT;
  if (out) writeFileSync(out, JSON.stringify([...packages].sort()));
});
