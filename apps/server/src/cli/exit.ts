/**
 * How a `sluice` command ends. The exit codes, documented in apps/server/README.md: 0 success;
 * 1 runtime failure (a run failed, a service is unreachable); 2 invalid configuration or usage;
 * 3 a run was cancelled.
 *
 * @packageDocumentation
 */
import { ConfigError, isCatalogCode } from '@sluice/core';
import { formatConfigError } from './config-error.js';

export const EXIT = { ok: 0, failed: 1, invalid: 2, cancelled: 3 } as const;

/** A failure as JSON: coded errors (SLUICE_ERR_DATA_DIR_LOCKED: another process owns the data folder) keep their code and details. */
function jsonError(error: unknown, message: string): unknown {
  const { code, toJSON } = (error ?? {}) as { code?: unknown; toJSON?: unknown };
  if (!isCatalogCode(code)) return { message };
  return typeof toJSON === 'function' ? (toJSON as () => unknown).call(error) : { code, message };
}

/**
 * Prints `error` (on stdout as `{ ok: false, error }` with `--json`, else on stderr) and exits:
 * {@link EXIT}.invalid for a `ConfigError` (with `file` in its lines), else {@link EXIT}.failed.
 */
export function fail(error: unknown, json: boolean, file?: string): never {
  if (error instanceof ConfigError) {
    if (json) console.log(JSON.stringify({ ok: false, error: error.toJSON() }));
    else console.error(formatConfigError(error, file));
    process.exit(EXIT.invalid);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) console.log(JSON.stringify({ ok: false, error: jsonError(error, message) }));
  else console.error(`error: ${message}`);
  process.exit(EXIT.failed);
}
