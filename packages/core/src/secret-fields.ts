/**
 * The secret rule of stored configuration: configs are stored as given, but a field that holds a
 * secret must hold a reference (`${env:NAME}` or `${file:/path}`), never the secret itself. The
 * configuration's validation reports every such field (so `sluice validate` refuses what the
 * server would refuse to store) and the store refuses to save one, so a secret never reaches the
 * database, its backups or the API that lists configs.
 *
 * A field is secret when its key names one (`password`, `token`, `apiKey`, `clientSecret`,
 * `privateKey`, `credentials`, `authorization`, ... any key ending in `password`, `secret`,
 * `token`, `apikey` or `privatekey`, case, `_` and `-` ignored), when the caller lists its path
 * in `secretPaths`, or when it is a connection URL (`url`, `uri`, `dsn`, `connectionString`)
 * with a password in it. Its value may carry an auth scheme before the reference
 * (`Bearer ${env:HUBSPOT_TOKEN}`). A secret field holding an object (structured credentials)
 * is checked field by field: its secret-named fields must be references, and no field of it may
 * hold PEM private-key material.
 */
import { ConfigError, type ConfigIssue } from './errors.js';
import type { JsonValue } from './record.js';
import { formatPath } from './validate.js';

const REFERENCE = /\$\{(?:env|file):[^}]+\}/g;
const HAS_REFERENCE = /\$\{(?:env|file):[^}]+\}/;
const EXACT_SECRET_KEYS = new Set([
  'credentials',
  'authorization',
  'passwd',
  'pass',
  'pwd',
  'secretaccesskey',
  'sessiontoken',
]);
const SECRET_SUFFIXES = ['password', 'secret', 'token', 'apikey', 'privatekey'];
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const URL_KEYS = new Set(['url', 'uri', 'dsn', 'connectionstring', 'databaseurl']);

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/**
 * Tells whether a config key names a secret.
 *
 * @example
 * ```ts
 * isSecretKey('client_secret'); // true
 * isSecretKey('tokenUrl');      // false
 * ```
 */
export function isSecretKey(key: string): boolean {
  const k = normalise(key);
  return EXACT_SECRET_KEYS.has(k) || SECRET_SUFFIXES.some((suffix) => k.endsWith(suffix));
}

/**
 * Tells whether a secret field's value is a reference (optionally after an auth scheme such as
 * `Bearer `), not a secret.
 *
 * @example
 * ```ts
 * isSecretReference('${env:SLACK_TOKEN}');        // true
 * isSecretReference('Bearer ${file:/run/token}'); // true
 * isSecretReference('xoxb-123');                  // false
 * ```
 */
export function isSecretReference(value: string): boolean {
  if (!HAS_REFERENCE.test(value)) return false;
  const rest = value.replace(REFERENCE, '').trim();
  return rest === '' || /^(?:bearer|basic|token|bot)$/i.test(rest);
}

function urlHasPlaintextPassword(value: string): boolean {
  try {
    const url = new URL(value);
    return url.password !== '' && !isSecretReference(decodeURIComponent(url.password));
  } catch {
    return false;
  }
}

function pathKey(path: readonly (string | number)[]): string {
  return formatPath(path);
}

/**
 * Lists the plaintext secrets in a config (empty when it is safe to store).
 *
 * @example
 * ```ts
 * findPlaintextSecrets({ auth: { token: 'abc' } });
 * // [{ path: 'auth.token', message: 'secret field holds a plaintext value; store a reference such as ${env:NAME} or ${file:/path}' }]
 * ```
 */
export function findPlaintextSecrets(
  config: JsonValue,
  secretPaths: readonly string[] = [],
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const marked = new Set(secretPaths);
  const message =
    'secret field holds a plaintext value; store a reference such as ${env:NAME} or ${file:/path}';
  const walk = (
    value: JsonValue,
    path: (string | number)[],
    secret: boolean,
    insideSecret = false,
  ): void => {
    if (secret) {
      if (
        value === null ||
        (typeof value === 'string' && (value === '' || isSecretReference(value)))
      )
        return;
      // A structured secret such as `credentials: { type: access-token, accessToken: ${env:T} }`
      // holds descriptive fields beside its secret ones: the same rule applies to each of its
      // fields, so the references inside it are enough.
      if (typeof value === 'object' && !Array.isArray(value)) {
        for (const [key, item] of Object.entries(value)) {
          const itemPath = [...path, key];
          walk(item, itemPath, isSecretKey(key) || marked.has(pathKey(itemPath)), true);
        }
        return;
      }
      issues.push({ path: pathKey(path), message });
      return;
    }
    // Inside a structured secret, key material is a secret whatever its field is called.
    if (insideSecret && typeof value === 'string' && PEM_PRIVATE_KEY.test(value)) {
      issues.push({ path: pathKey(path), message });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) =>
        walk(item, [...path, index], marked.has(pathKey([...path, index])), insideSecret),
      );
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const itemPath = [...path, key];
        if (
          typeof item === 'string' &&
          URL_KEYS.has(normalise(key)) &&
          urlHasPlaintextPassword(item)
        ) {
          issues.push({
            path: pathKey(itemPath),
            message:
              'connection URL holds a plaintext password; use ${env:NAME} for the URL or its password',
          });
          continue;
        }
        walk(item, itemPath, isSecretKey(key) || marked.has(pathKey(itemPath)), insideSecret);
      }
    }
  };
  walk(config, [], false);
  return issues;
}

/**
 * Throws a ConfigError listing every plaintext secret of a config.
 *
 * @example
 * ```ts
 * assertNoPlaintextSecrets({ apiKey: '${env:HUBSPOT_KEY}' }, 'connections.hubspot'); // ok
 * ```
 */
export function assertNoPlaintextSecrets(
  config: JsonValue,
  where: string,
  secretPaths: readonly string[] = [],
): void {
  const issues = findPlaintextSecrets(config, secretPaths);
  if (issues.length > 0) {
    throw new ConfigError(
      issues.map((issue) => ({ ...issue, path: issue.path ? `${where}.${issue.path}` : where })),
      { title: `Refusing to store ${where} with plaintext secrets` },
    );
  }
}
