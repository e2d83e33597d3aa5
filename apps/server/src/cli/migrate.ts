/** `sluice migrate`: applies the store migrations (serve does it at start-up too). */
import type { Command } from 'commander';
import { createStore } from '@sluice/store';
import { configSource, loadCommandConfig } from './config-source.js';
import { fail } from './exit.js';

interface MigrateOptions {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

async function migrate(opts: MigrateOptions): Promise<void> {
  try {
    const { config } = await loadCommandConfig(configSource(opts.config));
    const store = await createStore(
      config.store.url
        ? { url: config.store.url }
        : { dataDir: opts.dataDir ?? config.store.dataDir },
    );
    try {
      const result = await store.migrate();
      if (opts.json) console.log(JSON.stringify({ ok: true, ...result }));
      else console.log(`✓ migrations: ${JSON.stringify(result)}`);
    } finally {
      await store.close();
    }
  } catch (error) {
    fail(error, Boolean(opts.json));
  }
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the store migrations (also done by serve at start-up)')
    .option('-c, --config <file>', 'configuration file (default: ./sluice.yaml)')
    .option('-d, --data-dir <dir>', 'PGlite data folder when store.url is not set')
    .option('--json', 'machine-readable output')
    .action(migrate);
}
