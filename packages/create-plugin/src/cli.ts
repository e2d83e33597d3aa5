/**
 * `npm create @sluice/plugin <folder> [-- --name <npm-name> --kind <prefix> --description <text>]`.
 * Exit codes: 0 created; 2 bad usage (nothing written).
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CreatePluginError, SCAFFOLD_VERSION, createPlugin } from './index.js';

const USAGE = `usage: npm create @sluice/plugin <folder> [-- --name <npm-name>] [--kind <prefix>] [--description <text>]

Creates a Sluice plugin package in <folder>: a connector, a destination and a transform, their
contract tests (@sluice/testing), a type test and a README.`;

/**
 * Runs the command with its arguments (after `npm create @sluice/plugin`) and returns the exit
 * code; bin/create-plugin.js calls it with `process.argv.slice(2)`.
 *
 * @example
 * ```ts
 * process.exitCode = main(['sluice-plugin-acme', '--description', 'Reads the Acme API']);
 * ```
 */
export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        kind: { type: 'string' },
        description: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.version) {
    console.log(SCAFFOLD_VERSION);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(
      `${positionals.length === 0 ? 'give the folder to create' : 'give one folder'}\n\n${USAGE}`,
    );
    return 2;
  }
  try {
    const { dir, names, files } = createPlugin({
      dir: positionals[0]!,
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(values.kind === undefined ? {} : { kind: values.kind }),
      ...(values.description === undefined ? {} : { description: values.description }),
    });
    const where = relative(process.cwd(), dir) || '.';
    console.log(`created ${names.name} in ${where} (${files.length} files): connector ${names.kind}-sequence, destination ${names.kind}-ndjson, transform ${names.kind}-stamp

next:
  cd ${where}
  npm install
  npm test          # type test, then the contract tests of @sluice/testing
  npm pack          # builds dist/ and writes the tarball`);
    return 0;
  } catch (error) {
    if (error instanceof CreatePluginError) {
      console.error(`create-plugin: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
