/**
 * Loading the plugins a configuration lists (`plugins:`): each entry is an npm package name or a
 * module path, resolved the way Node resolves an `import` written in a module that sits in the
 * configuration file's folder (`import-meta-resolve`: package `exports`, `node_modules` of every
 * parent folder, relative and absolute paths, `file:` URLs), imported, and registered.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { resolve as resolveSpecifier } from 'import-meta-resolve';
import { ConfigError, type PluginDefinition, type PluginRegistry } from '@sluice/core';
import type { PathSegments, Problem } from './issues.js';

/** What each registry has loaded, by resolved module URL: loading a listed plugin twice is a no-op. */
const loaded = new WeakMap<PluginRegistry, Map<string, PluginDefinition>>();

const MODULE_PATH = /^(?:\.{1,2}\/|\/|file:)/;

function isPlugin(value: unknown): value is PluginDefinition {
  return (
    typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'plugin'
  );
}

/** A folder as the URL of a module inside it, the parent `import-meta-resolve` resolves from. */
function parentIn(dir: string): string {
  return pathToFileURL(join(dir, 'sluice.config.js')).href;
}

/**
 * Where a plugin entry resolves to: a `file:` URL, or a problem naming the entry. Module paths
 * (`./local-plugin/dist/index.js`, `/opt/plugins/x.js`, `file:` URLs) resolve against `baseDir`
 * only; package names against `baseDir` and its parents' `node_modules`, then the working
 * directory's.
 *
 * @example
 * ```ts
 * resolvePluginEntry('./local-plugin/dist/index.js', '/etc/sluice');
 * // { url: 'file:///etc/sluice/local-plugin/dist/index.js' }
 * ```
 */
export function resolvePluginEntry(
  entry: string,
  baseDir: string,
  cwd: string = process.cwd(),
): { url: string } | { problem: string } {
  const isPath = MODULE_PATH.test(entry);
  const parents = isPath || cwd === baseDir ? [baseDir] : [baseDir, cwd];
  let reason = '';
  for (const dir of parents) {
    try {
      const url = resolveSpecifier(entry, parentIn(dir));
      if (!url.startsWith('file:'))
        return { problem: `plugin "${entry}" is not a module file (resolved to ${url})` };
      // A path resolves to a URL whether or not a file is there.
      if (existsSync(fileURLToPath(url))) return { url };
    } catch (error) {
      reason =
        (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
          ? ''
          : `: ${(error as Error).message}`;
    }
  }
  if (isPath) {
    const where = entry.startsWith('file:')
      ? fileURLToPath(entry)
      : entry.startsWith('/')
        ? entry
        : join(baseDir, entry);
    return {
      problem: `cannot find plugin module "${entry}" (looked for ${where}, relative to the configuration file's folder)${reason}`,
    };
  }
  return {
    problem: `cannot find plugin package "${entry}" (install it next to sluice.yaml or in the working directory)${reason}`,
  };
}

/**
 * Loads and registers the plugins a configuration lists, collecting one problem per entry that
 * cannot be resolved, imported or registered (path `plugins[i]`) instead of stopping at the
 * first. An entry this registry already loaded (the same resolved module) is skipped, so a
 * reload or a second validation with the same registry registers nothing twice. Entries that are
 * not strings are left to the schema.
 *
 * @example
 * ```ts
 * const problems = await loadPluginEntries(registry, ['sluice-plugin-http-json', './local/dist/index.js'], '/etc/sluice');
 * ```
 */
export async function loadPluginEntries(
  registry: PluginRegistry,
  entries: readonly unknown[],
  baseDir: string,
): Promise<Problem[]> {
  const problems: Problem[] = [];
  let mine = loaded.get(registry);
  if (!mine) loaded.set(registry, (mine = new Map()));
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'string') continue;
    const path: PathSegments = ['plugins', index];
    const resolved = resolvePluginEntry(entry, baseDir);
    if ('problem' in resolved) {
      problems.push({ path, message: resolved.problem });
      continue;
    }
    if (mine.has(resolved.url)) continue;
    let module: Record<string, unknown>;
    try {
      module = (await import(resolved.url)) as Record<string, unknown>;
    } catch (error) {
      problems.push({
        path,
        message: `plugin "${entry}" failed to load: ${(error as Error)?.message ?? String(error)}`,
      });
      continue;
    }
    const plugin = [module.default, module.plugin].find(isPlugin);
    if (!plugin) {
      problems.push({
        path,
        message: `plugin "${entry}" must export definePlugin(...) as its default export`,
      });
      continue;
    }
    try {
      registry.register(plugin);
      mine.set(resolved.url, plugin);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) problems.push({ path, message: issue.message });
    }
  }
  return problems;
}
