// Full validation of a configuration document, exactly the way `sluice validate` does it: the
// server's one validation pipeline (validateServerConfig in apps/server/src/runtime/validation.ts)
// with a registry holding every built-in plugin — plugins listed, secrets policy, references,
// every plugin section, every pipeline's route table and scheduling.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configOrThrow, parseConfigText, type SluiceConfig } from '@sluice/config';
import { ConfigError, type PluginRegistry } from '@sluice/core';
import { createRegistry } from '@sluice/server';
import { validateServerConfig } from '../../apps/server/src/runtime/validation.js';

/** The repository root: plugins named by examples (`sluice-plugin-http-json`) resolve from here. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Validates `document` (text or parsed data) completely; throws the `ConfigError` listing every
 * problem, as the CLI reports them. `environment: false` is `sluice validate --no-environment`.
 *
 * @example
 * ```ts
 * const { config } = await validateFully(yamlText, { env: EXAMPLE_ENV, baseDir: tmp });
 * ```
 */
export async function validateFully(
  document: string | object,
  options: { env?: Readonly<Record<string, string>>; baseDir: string; environment?: boolean },
): Promise<{ config: SluiceConfig; registry: PluginRegistry }> {
  provideLocalPlugins(
    typeof document === 'string' ? parseConfigText(document).value : document,
    options.baseDir,
  );
  const registry = createRegistry();
  const result = await validateServerConfig(document, {
    registry,
    baseDir: options.baseDir,
    env: options.env ?? {},
    environment: options.environment !== false,
  });
  return { config: configOrThrow(result), registry };
}

/** The repository's example plugin, built: what a documented `./local-plugin/dist/index.js` stands for. */
const EXAMPLE_PLUGIN = join(REPO_ROOT, 'examples/plugin-connector/dist/index.js');

/**
 * Gives every relative module path a document lists under `plugins` (the guide's
 * `./local-plugin/dist/index.js`) a module at that place in `baseDir` re-exporting the example
 * plugin, as a user's own build output would be there — the way fake-secrets.ts provides the
 * secret files a document references.
 */
function provideLocalPlugins(document: unknown, baseDir: string): void {
  const plugins = (document as { plugins?: unknown } | null)?.plugins;
  if (!Array.isArray(plugins)) return;
  for (const entry of plugins) {
    if (typeof entry !== 'string' || !/^\.{1,2}\//.test(entry)) continue;
    const target = resolve(baseDir, entry);
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(
      target,
      `export { default } from ${JSON.stringify(pathToFileURL(EXAMPLE_PLUGIN).href)};\n`,
    );
  }
}

/** A failure as one readable line per problem (the `ConfigError`'s issues, or the error message). */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError)
    return error.issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n');
  return `  ${error instanceof Error ? error.message : String(error)}`;
}
