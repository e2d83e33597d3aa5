#!/usr/bin/env node
// Generates the documentation pages that come from code:
//   docs/configuration.md         every configuration key, from toJsonSchema() of @sluice/config
//                                 with every built-in plugin registered
//   docs/public/sluice.schema.json  that JSON Schema, for editors
//   docs/router/destinations.md   the index of destination kinds and their guide pages
//   docs/troubleshooting.md       its "Error codes" section, from errorDefinitions of @sluice/core
//   docs/api.md                   the REST API, from the server's OpenAPI 3.1 document:
//
//     import { openApiDocument } from '@sluice/server'; // () => Promise<OpenAPI 3.1 document>
//
//   (imported lazily below: until apps/server exports it, api.md is skipped with a message).
//
// Usage:  node tools/docs/generate.mjs            write the pages
//         node tools/docs/generate.mjs --check    exit 1 naming each page that is stale
//
// It imports the BUILT packages (dist/): build them first (`npx nx run-many -t build`, or
// `npx nx run <pkg>:build` per package). A build that is not what the current sources compile
// to is refused, since the pages would not match the code; that is decided by content, not by
// file times (see lib/build-freshness.mjs), so a build Nx restored from its cache passes.
// test/docs/generated.test.ts runs the same generation on the sources.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import console from 'node:console';
import process from 'node:process';
import { buildProblems } from './lib/build-freshness.mjs';
import {
  BUILTIN_PLUGINS,
  SERVER,
  SUPPORT_PACKAGES,
  generatePages,
  sourceDeclaresExport,
  stalePages,
} from './lib/pages.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0 || args.includes('--help')) {
    console.error('usage: node tools/docs/generate.mjs [--check]');
    process.exit(2);
  }
  const check = args.includes('--check');

  const problems = buildProblems(root, [
    ...SUPPORT_PACKAGES,
    ...BUILTIN_PLUGINS.filter((spec) => sourceDeclaresExport(root, spec)),
  ]);
  if (problems.length > 0) {
    console.error(
      `[docs] cannot generate from stale or missing builds:\n${problems.map((p) => `  - ${p}`).join('\n')}\n  (or build everything: npx nx run-many -t build)`,
    );
    process.exit(1);
  }

  // The server only feeds api.md: without a current build of it, the other pages still generate.
  const serverProblems = sourceDeclaresExport(root, SERVER) ? buildProblems(root, [SERVER]) : [];
  const { pages, notes, skipped } = await generatePages({
    importModule: (specifier) => import(specifier),
    root,
    ...(serverProblems.length > 0 ? { apiUnavailable: serverProblems.join('; ') } : {}),
  });
  for (const note of notes) console.error(`[docs] note: ${note}`);
  for (const { path, reason } of skipped) console.error(`[docs] skipped ${path}: ${reason}`);

  if (check) {
    const stale = stalePages(pages, root);
    if (stale.length > 0) {
      for (const path of stale)
        console.error(
          `[docs] stale: ${path} differs from what the code generates; run \`npm run docs:generate\` and commit it`,
        );
      process.exit(1);
    }
    console.error(`[docs] ${pages.length} generated page(s) up to date`);
    return;
  }
  for (const page of pages) {
    const file = join(root, page.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, page.content);
    console.error(`[docs] wrote ${page.path}`);
  }
}

await main();
