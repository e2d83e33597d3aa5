// Full validation of a configuration document, exactly the way `sluice validate` does it: the
// server's one validation pipeline (validateServerConfig in apps/server/src/runtime/validation.ts)
// with a registry holding every built-in plugin — plugins listed, secrets policy, references,
// every plugin section, every pipeline's route table and scheduling.
import { resolve } from 'node:path';
import { configOrThrow, type SluiceConfig } from '@sluice/config';
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
  const registry = createRegistry();
  const result = await validateServerConfig(document, { registry, baseDir: options.baseDir, env: options.env ?? {}, environment: options.environment !== false });
  return { config: configOrThrow(result), registry };
}

/** A failure as one readable line per problem (the `ConfigError`'s issues, or the error message). */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n');
  return `  ${error instanceof Error ? error.message : String(error)}`;
}
