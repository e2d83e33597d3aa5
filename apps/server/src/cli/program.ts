/**
 * The `sluice` program: its version and help, and one module per command registered on it.
 * Exit codes and failure output are in exit.ts, where the configuration comes from in
 * config-source.ts, option parsers in arguments.ts.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerDeadLettersCommand } from './dead-letters.js';
import { registerMigrateCommand } from './migrate.js';
import { registerRunCommand } from './run.js';
import { registerSchemaCommand } from './schema.js';
import { registerServeCommand } from './serve.js';
import { registerValidateCommand } from './validate.js';

/** The installed @sluice/server's version (src/cli/ and dist/cli/ both sit two levels below package.json). */
const SERVER_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description(
      'Sluice: pull marketing and analytics data, route every record by rules, deliver it anywhere.',
    )
    .version(SERVER_VERSION)
    .showHelpAfterError();
  // Registered in this order, which is the order `sluice --help` lists them in.
  registerServeCommand(program);
  registerValidateCommand(program);
  registerRunCommand(program);
  registerMigrateCommand(program);
  registerDeadLettersCommand(program);
  registerSchemaCommand(program);
  return program;
}
