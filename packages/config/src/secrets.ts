/**
 * `${env:NAME}` and `${file:path}` references: resolved before validation, with every resolved
 * value remembered as a secret so it can be redacted from logs, errors and printed configs.
 * The library never reads `process.env` itself: the caller passes the environment.
 *
 * @packageDocumentation
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, createRedactor } from '@sluice/core';
import type { PathSegments, Problem } from './issues.js';
import { toConfigIssues } from './issues.js';
import { describeValue } from './suggest.js';

/**
 * Where references are resolved from.
 *
 * @example
 * ```ts
 * resolveSecrets(data, { env: process.env, baseDir: '/etc/sluice' } satisfies SecretSources);
 * ```
 */
export interface SecretSources {
  /** The environment (`process.env` in the server; a plain object in tests). Default: empty. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Folder that relative `${file:...}` paths are resolved against. Default: the working directory. */
  baseDir?: string;
}

/**
 * The result of resolving references.
 *
 * @example
 * ```ts
 * const { value, secrets }: ResolvedSecrets = resolveSecrets(data, { env });
 * ```
 */
export interface ResolvedSecrets<T = unknown> {
  /** A deep copy of the input with every reference replaced. */
  value: T;
  /** Every value a reference resolved to, to be redacted wherever it may be printed. */
  secrets: string[];
}

/**
 * Deepest nesting accepted in a configuration (guards against stack exhaustion).
 *
 * @example
 * ```ts
 * MAX_CONFIG_DEPTH; // 64
 * ```
 */
export const MAX_CONFIG_DEPTH = 64;

/**
 * Largest secret file read through `${file:...}`.
 *
 * @example
 * ```ts
 * MAX_SECRET_FILE_BYTES; // 1048576
 * ```
 */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Resolves references and copies the input into plain JSON data (rejecting cycles, non-JSON
 * values and excessive depth); every problem is collected (not thrown) so the loader can
 * report it next to validation problems. With `literal`, strings are copied unresolved.
 */
export function resolveReferences(
  input: unknown,
  sources: SecretSources & { literal?: boolean } = {},
): ResolvedSecrets & { problems: Problem[] } {
  const env = sources.env ?? {};
  const baseDir = sources.baseDir ?? process.cwd();
  const problems: Problem[] = [];
  const secrets = new Set<string>();
  const fileCache = new Map<string, string | Error>();

  const readSecretFile = (file: string): string | Error => {
    const full = resolve(baseDir, file);
    let cached = fileCache.get(full);
    if (cached === undefined) {
      try {
        const stats = statSync(full);
        if (!stats.isFile()) throw new Error('not a regular file');
        if (stats.size > MAX_SECRET_FILE_BYTES) throw new Error(`larger than ${MAX_SECRET_FILE_BYTES} bytes`);
        // One trailing newline is an artefact of editors and `echo`, not part of the secret.
        cached = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
        cached = new Error(`cannot read secret file "${file}" (${full}): ${reason}`);
      }
      fileCache.set(full, cached);
    }
    return cached;
  };

  const resolveString = (text: string, path: PathSegments): string => {
    if (sources.literal || !text.includes('$')) return text;
    let out = '';
    let index = 0;
    while (index < text.length) {
      const dollar = text.indexOf('$', index);
      if (dollar === -1) {
        out += text.slice(index);
        break;
      }
      out += text.slice(index, dollar);
      if (text.startsWith('$${', dollar)) {
        out += '${';
        index = dollar + 3;
        continue;
      }
      if (!text.startsWith('${', dollar)) {
        out += '$';
        index = dollar + 1;
        continue;
      }
      const close = text.indexOf('}', dollar + 2);
      if (close === -1) {
        problems.push({ path, message: 'unterminated reference "${": close it with "}" or write "$${" for a literal "${"' });
        return text;
      }
      const body = text.slice(dollar + 2, close);
      const resolved = resolveReference(body, path);
      if (resolved === undefined) return text;
      out += resolved;
      index = close + 1;
    }
    return out;
  };

  const resolveReference = (body: string, path: PathSegments): string | undefined => {
    const colon = body.indexOf(':');
    const scheme = colon === -1 ? '' : body.slice(0, colon);
    const target = colon === -1 ? body : body.slice(colon + 1);
    if (scheme === 'env') {
      if (!ENV_NAME.test(target)) {
        problems.push({ path, message: `invalid environment variable name in "\${env:${target}}"` });
        return undefined;
      }
      const value = env[target];
      if (value === undefined) {
        problems.push({ path, message: `environment variable "${target}" is not set (referenced as \${env:${target}})` });
        return undefined;
      }
      secrets.add(value);
      return value;
    }
    if (scheme === 'file') {
      if (target.trim() === '') {
        problems.push({ path, message: 'empty path in "${file:}"' });
        return undefined;
      }
      const content = readSecretFile(target);
      if (content instanceof Error) {
        problems.push({ path, message: content.message });
        return undefined;
      }
      secrets.add(content);
      return content;
    }
    problems.push({
      path,
      message: `unknown reference "\${${body}}": use \${env:NAME} or \${file:path}, or write "$\${" for a literal "\${"`,
    });
    return undefined;
  };

  const ancestors = new Set<object>();
  const walk = (value: unknown, path: PathSegments): unknown => {
    if (typeof value === 'string') return resolveString(value, path);
    if (value === null || typeof value === 'number' || typeof value === 'boolean' || value === undefined) return value;
    if (typeof value !== 'object') {
      problems.push({ path, message: `expected a JSON value, got ${describeValue(value)}` });
      return undefined;
    }
    if (path.length >= MAX_CONFIG_DEPTH) {
      problems.push({ path, message: `nested deeper than ${MAX_CONFIG_DEPTH} levels` });
      return undefined;
    }
    if (ancestors.has(value)) {
      problems.push({ path, message: 'circular reference' });
      return undefined;
    }
    const isArray = Array.isArray(value);
    const prototype: unknown = Object.getPrototypeOf(value);
    if (!isArray && prototype !== Object.prototype && prototype !== null) {
      problems.push({ path, message: `expected a JSON value, got ${describeObject(value)}` });
      return undefined;
    }
    ancestors.add(value);
    try {
      if (isArray) return Array.from(value as unknown[], (item, i) => walk(item, [...path, i]));
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        if (key === '__proto__') {
          problems.push({ path: [...path, key], message: 'the key "__proto__" is not allowed' });
          continue;
        }
        out[key] = walk((value as Record<string, unknown>)[key], [...path, key]);
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  };

  const value = walk(input, []);
  return { value, secrets: [...secrets], problems };
}

function describeObject(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'a non-plain object';
}

/**
 * Resolves every `${env:NAME}` and `${file:path}` reference in `input` (whole values or
 * embedded in a string; `$${` writes a literal `${`). Returns a plain-data copy and the list of
 * resolved secret values. Throws a `ConfigError` listing every missing variable and unreadable
 * file with its path; the error message never contains a resolved secret.
 *
 * @example
 * ```ts
 * const { value, secrets } = resolveSecrets(
 *   { url: 'postgres://app:${env:PG_PASSWORD}@db/app', key: '${file:./api.key}' },
 *   { env: process.env, baseDir: '/etc/sluice' },
 * );
 * ```
 */
export function resolveSecrets<T = unknown>(input: unknown, sources: SecretSources = {}): ResolvedSecrets<T> {
  const { value, secrets, problems } = resolveReferences(input, sources);
  if (problems.length > 0) {
    const redact = createRedactor(secrets);
    throw new ConfigError(toConfigIssues(problems, (p) => redact(p.message)));
  }
  return { value: value as T, secrets };
}
