// Full validation of a configuration document, the way `sluice validate` does it (validateFile in
// apps/server/src/cli.ts): load the plugins it lists into a registry holding every built-in
// plugin, validate structure, references and every plugin section, then compile every
// pipeline's route table (conditions, transforms, destinations).
import { resolve } from 'node:path';
import { loadConfig, type SluiceConfig } from '@sluice/config';
import { ConfigError, createPluginContext, type PluginRegistry } from '@sluice/core';
import { createRegistry, loadPlugins } from '@sluice/server';
import { compilePipelineTable } from '../../apps/server/src/runtime/executor.js';

/** The repository root: plugins named by examples (`sluice-plugin-http-json`) resolve from here. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Validates `document` (text or parsed data) completely; throws the `ConfigError` listing every
 * problem, as the CLI reports them.
 *
 * @example
 * ```ts
 * const { config } = await validateFully(yamlText, { env: EXAMPLE_ENV, baseDir: tmp });
 * ```
 */
export async function validateFully(
  document: string | object,
  options: { env: Readonly<Record<string, string>>; baseDir: string },
): Promise<{ config: SluiceConfig; registry: PluginRegistry }> {
  const structural = loadConfig(document, options);
  const registry = createRegistry();
  await loadPlugins(registry, structural.plugins, REPO_ROOT);
  const config = loadConfig(document, { ...options, registry });
  const ctx = createPluginContext();
  const issues: { path: string; message: string }[] = [];
  for (const name of Object.keys(config.pipelines)) {
    try {
      compilePipelineTable(config, name, registry, ctx);
    } catch (error) {
      if (error instanceof ConfigError) issues.push(...error.issues);
      else throw error;
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { config, registry };
}

/** A failure as one readable line per problem (the `ConfigError`'s issues, or the error message). */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n');
  return `  ${error instanceof Error ? error.message : String(error)}`;
}
