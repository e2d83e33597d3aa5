/** `sluice validate`: the one validation pipeline on a file, every problem at once; nothing starts. */
import type { Command } from 'commander';
import { configSource, loadCommandConfig } from './config-source.js';
import { fail } from './exit.js';

interface ValidateOptions {
  config?: string;
  json?: boolean;
  environment: boolean;
}

async function validate(argument: string | undefined, opts: ValidateOptions): Promise<void> {
  const source = configSource(opts.config ?? argument);
  // The name problems are printed under: what the user gave, or where the configuration came from.
  const file =
    opts.config ?? argument ?? (process.env.SLUICE_CONFIG?.trim() ? '$SLUICE_CONFIG' : source.path);
  try {
    const { config } = await loadCommandConfig(source, opts.environment);
    const summary = {
      ok: true,
      environment: opts.environment,
      pipelines: Object.keys(config.pipelines).length,
      destinations: Object.keys(config.destinations).length,
      connections: Object.keys(config.connections).length,
    };
    const scope = opts.environment
      ? ''
      : ' without the environment (no reference resolved, no secret file read)';
    if (opts.json) console.log(JSON.stringify(summary));
    else
      console.log(
        `✓ ${file} is valid${scope}: ${summary.pipelines} pipeline(s), ${summary.destinations} destination(s), ${summary.connections} connection(s)`,
      );
  } catch (error) {
    fail(error, Boolean(opts.json), file);
  }
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description(
      'check a configuration file: structure, secrets, plugins, cross-references, route conditions',
    )
    .argument(
      '[file]',
      'configuration file (default: as serve finds it: $SLUICE_CONFIG, else $SLUICE_CONFIG_FILE, else ./sluice.yaml)',
    )
    .option('-c, --config <file>', 'configuration file (instead of the argument)')
    .option('--json', 'machine-readable output')
    .option(
      '--no-environment',
      'check everything except resolving ${env:..}/${file:..} references and connecting (for CI without credentials)',
    )
    .action(validate);
}
