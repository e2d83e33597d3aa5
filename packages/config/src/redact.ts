/**
 * Keeping secrets out of output: which values of a loaded config came from references, a
 * redacted copy of the config, and safe-to-log renderings of it.
 *
 * @packageDocumentation
 */
import { stringify } from 'yaml';
import { REDACTED, createRedactor } from '@sluice/core';
import type { SluiceConfig } from './config-schema.js';

const secretsByConfig = new WeakMap<object, readonly string[]>();

/** Remembers the secret values a loaded config was built from (used by the loader). */
export function rememberSecrets<T extends object>(config: T, secrets: readonly string[]): T {
  secretsByConfig.set(config, Object.freeze([...secrets]));
  return config;
}

/**
 * The values of `config` that came from `${env:...}` / `${file:...}` references (empty for a
 * config not produced by `loadConfig`). Give them to a log redactor.
 *
 * @example
 * ```ts
 * const config = loadConfig(text, { env: process.env });
 * const redact = createRedactor(configSecrets(config));
 * logger.info(redact(someMessage));
 * ```
 */
export function configSecrets(config: object): readonly string[] {
  return secretsByConfig.get(config) ?? [];
}

// Keys whose values are credentials whatever their origin: caught even when someone wrote a
// secret inline instead of through a reference.
const SENSITIVE_KEY =
  /pass(word|wd|phrase)?$|secret|token|credential|private.?key|api.?key|authorization|cookie|^key(Hash)?$/i;

/** Shorter inline values are left out of the redactor: they would shred ordinary words. */
const MIN_INLINE_SECRET = 8;

/** The password of a connection URL (`postgres://user:password@host/db`), decoded. */
function urlPassword(value: string): string | undefined {
  if (!value.includes('@')) return undefined;
  try {
    const password = new URL(value).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

/**
 * Credentials written inline (not through a reference): every string of at least
 * {@link MIN_INLINE_SECRET} characters held directly by a credential-like key (`password`,
 * `token`, `secret`, `private_key`, API key entries' `key`/`keyHash`, ...), and the password of a
 * connection URL (`store.url: postgres://app:pw@db/app`). The rest of an object under such a key
 * (a service account's `type`, `token_uri`) is not secret and is not listed. The store refuses
 * plaintext credentials in the sections it versions; the file's own sections (`server.apiKeys`,
 * `store.url`) may still hold them.
 *
 * @example
 * ```ts
 * inlineSecrets({ server: { apiKeys: [{ name: 'ci', key: 'inline-key-123', scopes: ['run'] }] } }); // ['inline-key-123']
 * ```
 */
export function inlineSecrets(config: object): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, parentKey: string | undefined, depth: number): void => {
    if (value === null || typeof value !== 'object' || depth > 64) return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, parentKey, depth + 1);
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      // Same rule as the printed config: `key` is a credential only in API key entries.
      const sensitive =
        key !== 'apiKeys' &&
        SENSITIVE_KEY.test(key) &&
        (!/^key(Hash)?$/i.test(key) || parentKey === 'apiKeys');
      const secret = typeof item !== 'string' ? undefined : sensitive ? item : urlPassword(item);
      if (secret !== undefined && secret.length >= MIN_INLINE_SECRET) found.add(secret);
      else walk(item, key, depth + 1);
    }
  };
  walk(config, undefined, 0);
  return [...found];
}

/**
 * A redactor (core's `createRedactor`) for everything that may echo the config's secrets:
 * log lines, error messages, API output. It knows every value that came from a reference and
 * the credentials written inline (`inlineSecrets`, internal).
 *
 * @example
 * ```ts
 * const redact = createConfigRedactor(config);
 * redact(new Error(`login failed for ${password}`)).message; // "login failed for [redacted]"
 * ```
 */
export function createConfigRedactor(config: object): <T>(value: T) => T {
  return createRedactor([...configSecrets(config), ...inlineSecrets(config)]);
}

function maskSensitive(value: unknown, parentKey: string | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => maskSensitive(item, parentKey));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // `server.apiKeys` is the list of key entries, not a credential itself: only the entries'
    // `key`/`keyHash` are masked.
    const sensitive =
      key !== 'apiKeys' &&
      SENSITIVE_KEY.test(key) &&
      (typeof item === 'string' || (item !== null && typeof item === 'object'));
    // `key` is a secret inside API key entries; elsewhere (an S3 object key) it is not.
    const isApiKeyField = /^key(Hash)?$/i.test(key);
    out[key] =
      sensitive && (!isApiKeyField || parentKey === 'apiKeys')
        ? REDACTED
        : maskSensitive(item, key);
  }
  return out;
}

/**
 * A deep copy of `config` that is safe to print: every value that came from a secret
 * reference is replaced by `[redacted]` (also where it is embedded, e.g. a password inside a
 * URL), and so is every value under a credential-like key (`password`, `token`, `secret`,
 * `apiKey`, API key entries' `key`/`keyHash`, ...).
 *
 * @example
 * ```ts
 * const config = loadConfig('store:\n  url: postgres://app:${env:PW}@db/app\n', { env: { PW: 'hunter22' } });
 * redactConfig(config).store.url; // "postgres://app:[redacted]@db/app"
 * ```
 */
export function redactConfig<T extends object>(config: T): T {
  return createConfigRedactor(config)(maskSensitive(config, undefined) as T);
}

/**
 * Renders the redacted config as YAML (default) or JSON, for `sluice validate --print`
 * and debug logs.
 *
 * @example
 * ```ts
 * console.log(printConfig(config));
 * ```
 */
export function printConfig(
  config: SluiceConfig,
  options: { format?: 'yaml' | 'json' } = {},
): string {
  const safe = redactConfig(config);
  return options.format === 'json'
    ? `${JSON.stringify(safe, null, 2)}\n`
    : stringify(safe, { lineWidth: 0 });
}

/**
 * A short, safe-to-log summary of a config: store, server, and each pipeline with its
 * source, triggers and destinations.
 *
 * @example
 * ```ts
 * logger.info(describeConfig(config));
 * // store: PGlite in ./.sluice
 * // server: 127.0.0.1:8080, auth on, 1 API key(s)
 * // pipeline ga4-daily: ga4 via connection ga4-main; cron "0 8 * * *" Europe/Berlin, api -> warehouse, reports, sessions-gauge, slack-alerts
 * ```
 */
export function describeConfig(config: SluiceConfig): string {
  const safe = redactConfig(config);
  const lines: string[] = [];
  lines.push(
    safe.store.url === undefined
      ? `store: PGlite in ${safe.store.dataDir}`
      : `store: PostgreSQL at ${safe.store.url}`,
  );
  lines.push(
    `server: ${safe.server.host}:${safe.server.port}, auth ${safe.server.auth ? 'on' : 'off'}, ${safe.server.apiKeys.length} API key(s)`,
  );
  if (safe.plugins.length > 0) lines.push(`plugins: ${safe.plugins.join(', ')}`);
  for (const [name, pipeline] of Object.entries(safe.pipelines)) {
    const connection = pipeline.source.connection;
    const kind =
      connection === undefined ? pipeline.source.kind : safe.connections[connection]?.kind;
    const source =
      connection === undefined ? String(kind) : `${String(kind)} via connection ${connection}`;
    const triggers: string[] = [];
    if (pipeline.schedule?.enabled)
      triggers.push(`cron "${pipeline.schedule.cron}" ${pipeline.schedule.timezone}`);
    if (pipeline.webhook) triggers.push(`webhook (${pipeline.webhook.verify})`);
    if (pipeline.api.enabled) triggers.push('api');
    const targets = new Set<string>();
    for (const route of pipeline.routes) for (const to of route.to) targets.add(to);
    for (const to of pipeline.defaultRoute?.to ?? []) targets.add(to);
    lines.push(
      `pipeline ${name}${pipeline.enabled ? '' : ' (disabled)'}: ${source}; ${triggers.join(', ') || 'no trigger'} -> ${[...targets].join(', ')}`,
    );
  }
  return lines.join('\n');
}
