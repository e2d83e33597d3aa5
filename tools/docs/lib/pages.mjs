// Produces the generated documentation pages in memory: docs/configuration.md,
// docs/public/sluice.schema.json, docs/router/destinations.md, docs/api.md and the error codes
// section of docs/troubleshooting.md. Packages are imported through `importModule`,
// so the same code runs on the built packages (`node tools/docs/generate.mjs`) and on their
// sources (the vitest check in test/docs/, where `@sluice/*` resolve to `src/`).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderApiPage } from './render-api.mjs';
import { renderConfigurationPage } from './render-config.mjs';
import { renderDestinationsIndex } from './render-destinations.mjs';
import { renderTroubleshootingPage } from './render-errors.mjs';

/**
 * The built-in plugins documented in the configuration reference: the router's transforms and
 * every first-party connector and destination. A package that does not export its plugin yet is
 * left out with a note (its docs appear once it does).
 */
export const BUILTIN_PLUGINS = Object.freeze([
  { package: '@sluice/router', dir: 'packages/router', export: 'routerPlugin' },
  {
    package: '@sluice/connectors-bigquery',
    dir: 'packages/connectors/bigquery',
    export: 'bigQueryPlugin',
  },
  { package: '@sluice/connectors-ga4', dir: 'packages/connectors/ga4', export: 'ga4Plugin' },
  {
    package: '@sluice/connectors-hubspot',
    dir: 'packages/connectors/hubspot',
    export: 'hubspotPlugin',
  },
  {
    package: '@sluice/connectors-sample',
    dir: 'packages/connectors/sample',
    export: 'samplePlugin',
  },
  {
    package: '@sluice/destinations-database',
    dir: 'packages/destinations/database',
    export: 'databasePlugin',
  },
  {
    package: '@sluice/destinations-email',
    dir: 'packages/destinations/email',
    export: 'emailPlugin',
  },
  { package: '@sluice/destinations-file', dir: 'packages/destinations/file', export: 'filePlugin' },
  {
    package: '@sluice/destinations-prometheus',
    dir: 'packages/destinations/prometheus',
    export: 'prometheusPlugin',
  },
  { package: '@sluice/destinations-s3', dir: 'packages/destinations/s3', export: 's3Plugin' },
  {
    package: '@sluice/destinations-slack',
    dir: 'packages/destinations/slack',
    export: 'slackPlugin',
  },
  {
    package: '@sluice/destinations-webhook',
    dir: 'packages/destinations/webhook',
    export: 'webhookPlugin',
  },
]);

/** The server package and the export docs/api.md is generated from. */
export const SERVER = Object.freeze({
  package: '@sluice/server',
  dir: 'apps/server',
  export: 'openApiDocument',
});

/** Packages the generator imports besides the plugins. */
export const SUPPORT_PACKAGES = Object.freeze([
  { package: '@sluice/core', dir: 'packages/core' },
  { package: '@sluice/config', dir: 'packages/config' },
]);

export const EXAMPLE_CONFIG = 'examples/sluice.example.yaml';

/** Generated files, relative to the repository root. */
export const OUTPUTS = Object.freeze({
  configuration: 'docs/configuration.md',
  destinations: 'docs/router/destinations.md',
  schema: 'docs/public/sluice.schema.json',
  api: 'docs/api.md',
  troubleshooting: 'docs/troubleshooting.md',
});

/**
 * @typedef {(specifier: string) => Promise<Record<string, any>>} ImportModule
 * @typedef {{ path: string, content: string }} Page
 * @typedef {{ pages: Page[], notes: string[], skipped: { path: string, reason: string }[] }} Generated
 */

/**
 * True when the package's public entry mentions the export, i.e. the package means to export it.
 *
 * @param {string} root
 * @param {{ dir: string, export: string }} spec
 */
export function sourceDeclaresExport(root, spec) {
  const entry = join(root, spec.dir, 'src/index.ts');
  return existsSync(entry) && new RegExp(`\\b${spec.export}\\b`).test(readFileSync(entry, 'utf8'));
}

/**
 * A registry holding every built-in plugin that is exported.
 *
 * @param {ImportModule} importModule
 * @param {string} root repository root
 * @returns {Promise<{ registry: any, plugins: any[], notes: string[] }>}
 */
export async function loadBuiltinRegistry(importModule, root) {
  const { PluginRegistry } = await importModule('@sluice/core');
  const registry = new PluginRegistry();
  /** @type {string[]} */
  const notes = [];
  /** @type {any[]} */
  const plugins = [];
  for (const spec of BUILTIN_PLUGINS) {
    if (!sourceDeclaresExport(root, spec)) {
      notes.push(
        `${spec.package} does not export ${spec.export} yet: its kinds are not documented`,
      );
      continue;
    }
    const module = await importModule(spec.package);
    const plugin = module[spec.export];
    if (plugin?.type !== 'plugin') {
      throw new Error(
        `${spec.package} declares ${spec.export} but it is not a plugin (got ${typeof plugin}); is its build current?`,
      );
    }
    registry.register(plugin);
    plugins.push(plugin);
  }
  return { registry, plugins, notes };
}

/**
 * Every generated page.
 *
 * @param {{ importModule: ImportModule, root: string, apiUnavailable?: string }} options
 *   `apiUnavailable`: why the server cannot be imported (api.md is skipped with that reason)
 * @returns {Promise<Generated>}
 */
export async function generatePages({ importModule, root, apiUnavailable }) {
  const { registry, plugins, notes } = await loadBuiltinRegistry(importModule, root);
  const { toJsonSchema } = await importModule('@sluice/config');
  const { errorDefinitions } = await importModule('@sluice/core');
  const schema = toJsonSchema({ registry });
  const example = parse(readFileSync(join(root, EXAMPLE_CONFIG), 'utf8'));
  const guidesDir = join(root, 'docs/router/destinations');
  const destinationGuides = new Set(
    existsSync(guidesDir)
      ? readdirSync(guidesDir)
          .filter((f) => f.endsWith('.md'))
          .map((f) => f.slice(0, -3))
      : [],
  );
  /** @type {Page[]} */
  const pages = [
    {
      path: OUTPUTS.configuration,
      content: renderConfigurationPage({
        schema,
        example,
        exampleFile: EXAMPLE_CONFIG,
        destinationGuides,
      }),
    },
    { path: OUTPUTS.schema, content: `${JSON.stringify(schema, null, 2)}\n` },
    {
      path: OUTPUTS.destinations,
      content: renderDestinationsIndex({ plugins, guides: destinationGuides }),
    },
    {
      path: OUTPUTS.troubleshooting,
      content: renderTroubleshootingPage(
        readFileSync(join(root, OUTPUTS.troubleshooting), 'utf8'),
        errorDefinitions,
      ),
    },
  ];
  /** @type {Generated['skipped']} */
  const skipped = [];
  const api =
    apiUnavailable === undefined
      ? await loadOpenApiDocument(importModule, root)
      : { reason: apiUnavailable };
  if ('document' in api) pages.push({ path: OUTPUTS.api, content: renderApiPage(api.document) });
  else skipped.push({ path: OUTPUTS.api, reason: api.reason });
  return { pages, notes, skipped };
}

/**
 * The server's OpenAPI document, or why there is none yet.
 *
 * @param {ImportModule} importModule
 * @param {string} root
 * @returns {Promise<{ document: Record<string, any> } | { reason: string }>}
 */
export async function loadOpenApiDocument(importModule, root) {
  if (!sourceDeclaresExport(root, SERVER)) {
    return {
      reason: `${SERVER.package} does not export ${SERVER.export}() yet (expected: \`import { openApiDocument } from '@sluice/server'\`, returning a Promise of the OpenAPI 3.1 document)`,
    };
  }
  const module = await importModule(SERVER.package);
  if (typeof module[SERVER.export] !== 'function') {
    throw new Error(
      `${SERVER.package} mentions ${SERVER.export} but does not export it as a function; is its build current?`,
    );
  }
  const document = await module[SERVER.export]();
  if (typeof document?.openapi !== 'string' || !document.openapi.startsWith('3.1')) {
    throw new Error(
      `${SERVER.package}.${SERVER.export}() must resolve to an OpenAPI 3.1 document (got openapi: ${JSON.stringify(document?.openapi)})`,
    );
  }
  return { document };
}

/**
 * The generated pages that differ from the files on disk.
 *
 * @param {Page[]} pages
 * @param {string} root
 * @returns {string[]} repository paths of stale or missing files
 */
export function stalePages(pages, root) {
  return pages
    .filter((page) => {
      const file = join(root, page.path);
      return !existsSync(file) || readFileSync(file, 'utf8') !== page.content;
    })
    .map((page) => page.path);
}
