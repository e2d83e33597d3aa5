#!/usr/bin/env node
/**
 * The `sluice` command line (built as dist/cli.js, which bin/sluice.js and the container image
 * start). One module per command under cli/; exit codes in cli/exit.ts: 0 success; 1 runtime
 * failure (a run failed, a service is unreachable); 2 invalid configuration or usage; 3 a run was
 * cancelled.
 */
import { buildProgram } from './cli/program.js';

export { buildProgram } from './cli/program.js';
export { EXIT } from './cli/exit.js';
export { configSource } from './cli/config-source.js';
export { formatConfigError } from './cli/config-error.js';

await buildProgram().parseAsync(process.argv);
