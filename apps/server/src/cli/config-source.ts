/**
 * Where a command's configuration comes from, and loading it through the server's own load path
 * (`loadServerConfig`: the one reader, the one validation pipeline), so `sluice validate` accepts
 * exactly what `sluice serve` starts with.
 *
 * @packageDocumentation
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SluiceConfig } from '@sluice/config';
import type { PluginRegistry } from '@sluice/core';
import { loadServerConfig } from '../runtime/config-load.js';
import { createRegistry } from '../runtime/plugins.js';

/** A configuration file, and the folder its relative paths resolve against when not its own. */
export interface ConfigSource {
  path: string;
  baseDir?: string;
}

/**
 * Where the configuration comes from — the one precedence, used by every command and documented
 * in apps/server/README.md and docs/deployment.md:
 *
 * 1. `--config <file>`;
 * 2. `$SLUICE_CONFIG`: the configuration itself (YAML or JSON text), as container platforms
 *    inject a secret; written to a private (mode 600) temporary file, its relative paths
 *    (`${file:./x}`, `./plugins/...`, `store.dataDir`) resolving against the working directory;
 * 3. `$SLUICE_CONFIG_FILE`: the path of a file (the container image sets it to its bundled
 *    quick start, so a platform's `SLUICE_CONFIG` wins over it);
 * 4. `./sluice.yaml`.
 */
export function configSource(
  option: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConfigSource {
  if (option) return { path: option };
  const inline = env.SLUICE_CONFIG;
  if (inline !== undefined && inline.trim() !== '') {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const file = join(
      dir,
      /^\s*[{[]/.test(inline) && isJson(inline) ? 'sluice.json' : 'sluice.yaml',
    );
    writeFileSync(file, inline, { mode: 0o600 });
    return { path: file, baseDir: process.cwd() };
  }
  if (env.SLUICE_CONFIG_FILE) return { path: env.SLUICE_CONFIG_FILE };
  return { path: 'sluice.yaml' };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** {@link configSource} as `startSluice` options. */
export function configOptions(option: string | undefined): {
  configPath: string;
  baseDir?: string;
} {
  const source = configSource(option);
  return {
    configPath: source.path,
    ...(source.baseDir === undefined ? {} : { baseDir: source.baseDir }),
  };
}

/**
 * Loads a configuration with the server's one validation pipeline (structure, plugins, secrets
 * policy, references, plugin sections, route tables, scheduling), throwing every problem at once
 * with its line and column. `environment: false` resolves no reference and reads no secret file.
 */
export async function loadCommandConfig(
  source: ConfigSource,
  environment = true,
): Promise<{ config: SluiceConfig; registry: PluginRegistry; baseDir: string }> {
  const registry = createRegistry();
  const { config, baseDir } = await loadServerConfig({
    configPath: source.path,
    baseDir: source.baseDir,
    registry,
    env: process.env,
    environment,
  });
  return { config, registry, baseDir };
}
