/** `sluice schema`: the JSON Schema of sluice.yaml, with the kinds of a file's plugins when given one. */
import type { Command } from 'commander';
import { toJsonSchema, validationError } from '@sluice/config';
import { validateConfigFile } from '../runtime/config-load.js';
import { createRegistry } from '../runtime/plugins.js';
import { fail } from './exit.js';

async function schema(opts: { config?: string }): Promise<void> {
  const registry = createRegistry();
  if (opts.config) {
    try {
      const { result } = await validateConfigFile({
        configPath: opts.config,
        registry,
        env: process.env,
        environment: false,
      });
      // Only plugin problems stop the schema: the rest of the file may be work in progress.
      const pluginIssues = result.issues.filter(
        (issue) => issue.path === 'plugins' || issue.path.startsWith('plugins['),
      );
      if (pluginIssues.length > 0) throw validationError({ issues: pluginIssues });
    } catch (error) {
      fail(error, false, opts.config);
    }
  }
  console.log(JSON.stringify(toJsonSchema({ registry }), null, 2));
}

export function registerSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description(
      'print the JSON Schema of sluice.yaml (for editors), including every built-in kind and, with --config, the kinds of the plugins that file loads',
    )
    .option('-c, --config <file>', 'include the plugins this configuration file loads')
    .action(schema);
}
