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

/** One piece of a string as the resolver reads it. */
type Token =
  { kind: 'text'; text: string } | { kind: 'reference'; body: string } | { kind: 'unterminated' };

/**
 * Splits a string into literal text and `${...}` references, exactly as resolution reads it:
 * `$${` is a literal `${`, a lone `$` is itself, a reference ends at the first `}`, and an
 * unterminated `${` ends the scan. Resolution and {@link findReferences} share it, so what one
 * resolves the other finds.
 */
function* scan(text: string): Generator<Token> {
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) {
      yield { kind: 'text', text: text.slice(index) };
      return;
    }
    if (dollar > index) yield { kind: 'text', text: text.slice(index, dollar) };
    if (text.startsWith('$${', dollar)) {
      yield { kind: 'text', text: '${' };
      index = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      yield { kind: 'text', text: '$' };
      index = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      yield { kind: 'unterminated' };
      return;
    }
    yield { kind: 'reference', body: text.slice(dollar + 2, close) };
    index = close + 1;
  }
}

/** `env:NAME` -> `{ scheme: 'env', target: 'NAME' }`; no colon gives an empty scheme. */
function splitReference(body: string): { scheme: string; target: string } {
  const colon = body.indexOf(':');
  return colon === -1
    ? { scheme: '', target: body }
    : { scheme: body.slice(0, colon), target: body.slice(colon + 1) };
}

/**
 * A `${...}` reference found in data by {@link findReferences}.
 *
 * @example
 * ```ts
 * const ref: SecretReference = { path: ['url'], scheme: 'env', target: 'PG_PASSWORD', text: '${env:PG_PASSWORD}', inKey: false };
 * ```
 */
export interface SecretReference {
  /** Path of the string that holds it (for a key: the path of that key). */
  path: PathSegments;
  /** What comes before the first colon: `env`, `file`, or anything else written there. */
  scheme: string;
  /** What comes after the first colon: a variable name or a file path. */
  target: string;
  /** The reference as written, `${scheme:target}`. */
  text: string;
  /** True for a reference written in an object key (keys are never resolved). */
  inKey: boolean;
}

/**
 * Finds every reference in `input` that resolution would see — whole values, embedded ones
 * (`x${env:A}y`), every one of several in a string, malformed ones (`${vault:x}`,
 * `${env:${env:A}}`) — and, although keys are never resolved, references written in keys.
 * `$${` escapes are skipped, as resolution skips them. Used to refuse references in data that
 * must not be resolved (API requests), before anything is read.
 *
 * @example
 * ```ts
 * findReferences({ a: 'x${env:A}y', b: ['$${env:B}'], '${file:/k}': 1 });
 * // [{ path: ['a'], scheme: 'env', target: 'A', text: '${env:A}', inKey: false },
 * //  { path: ['${file:/k}'], scheme: 'file', target: '/k', text: '${file:/k}', inKey: true }]
 * ```
 */
export function findReferences(input: unknown): SecretReference[] {
  const found: SecretReference[] = [];
  const inString = (text: string, path: PathSegments, inKey: boolean) => {
    if (!text.includes('${')) return;
    for (const token of scan(text)) {
      if (token.kind === 'reference')
        found.push({ path, ...splitReference(token.body), text: `\${${token.body}}`, inKey });
    }
  };
  const ancestors = new Set<object>();
  const walk = (value: unknown, path: PathSegments): void => {
    if (typeof value === 'string') return inString(value, path, false);
    // Resolution stops at the same depth (reporting it), so nothing deeper is ever resolved.
    if (
      value === null ||
      typeof value !== 'object' ||
      ancestors.has(value) ||
      path.length >= MAX_CONFIG_DEPTH
    )
      return;
    ancestors.add(value);
    try {
      if (Array.isArray(value)) value.forEach((item: unknown, i) => walk(item, [...path, i]));
      else {
        for (const key of Object.keys(value)) {
          inString(key, [...path, key], true);
          walk((value as Record<string, unknown>)[key], [...path, key]);
        }
      }
    } finally {
      ancestors.delete(value);
    }
  };
  walk(input, []);
  return found;
}

/**
 * A string that held references, before and after resolution (used to describe the value in
 * validation messages by its references, never by what they resolved to).
 */
export interface ResolvedString {
  path: PathSegments;
  /** As written, with its references. */
  original: string;
  /** After resolution: holds secrets. */
  value: string;
}

/**
 * Resolves references and copies the input into plain JSON data (rejecting cycles, non-JSON
 * values and excessive depth); every problem is collected (not thrown) so the loader can
 * report it next to validation problems. With `literal`, strings are copied unresolved.
 */
export function resolveReferences(
  input: unknown,
  sources: SecretSources & {
    literal?: boolean;
    /**
     * `false`: check every reference's syntax (unknown schemes, bad names, unterminated ones are
     * problems) but resolve none: strings keep their `${env:..}` / `${file:..}` text, nothing is
     * read, and their paths are listed in `unresolved` (validation without the environment).
     */
    environment?: boolean;
  } = {},
): ResolvedSecrets & {
  problems: Problem[];
  resolved: ResolvedString[];
  unresolved: PathSegments[];
} {
  const env = sources.env ?? {};
  const baseDir = sources.baseDir ?? process.cwd();
  const problems: Problem[] = [];
  const secrets = new Set<string>();
  const resolved: ResolvedString[] = [];
  // Strings whose references were not resolved (left out on purpose, or failed): their value is unknown.
  const unresolved: PathSegments[] = [];
  const keepReferences = sources.environment === false;
  const fileCache = new Map<string, string | Error>();

  const readSecretFile = (file: string): string | Error => {
    const full = resolve(baseDir, file);
    let cached = fileCache.get(full);
    if (cached === undefined) {
      try {
        const stats = statSync(full);
        if (!stats.isFile()) throw new Error('not a regular file');
        if (stats.size > MAX_SECRET_FILE_BYTES)
          throw new Error(`larger than ${MAX_SECRET_FILE_BYTES} bytes`);
        // One trailing newline is an artefact of editors and `echo`, not part of the secret.
        cached = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT'
            ? 'no such file'
            : code === 'EACCES'
              ? 'permission denied'
              : (error as Error).message;
        cached = new Error(`cannot read secret file "${file}" (${full}): ${reason}`);
      }
      fileCache.set(full, cached);
    }
    return cached;
  };

  const resolveString = (text: string, path: PathSegments): string => {
    if (sources.literal || !text.includes('$')) return text;
    let out = '';
    let references = 0;
    for (const token of scan(text)) {
      if (token.kind === 'text') {
        out += token.text;
        continue;
      }
      if (token.kind === 'unterminated') {
        problems.push({
          path,
          message:
            'unterminated reference "${": close it with "}" or write "$${" for a literal "${"',
        });
        return text;
      }
      const value = resolveReference(token.body, path);
      if (value === undefined) {
        unresolved.push(path);
        return text;
      }
      out += value;
      references++;
    }
    if (keepReferences && references > 0) {
      unresolved.push(path);
      return text;
    }
    if (references > 0) resolved.push({ path, original: text, value: out });
    return out;
  };

  const resolveReference = (body: string, path: PathSegments): string | undefined => {
    const { scheme, target } = splitReference(body);
    if (scheme === 'env') {
      if (!ENV_NAME.test(target)) {
        problems.push({
          path,
          message: `invalid environment variable name in "\${env:${target}}"`,
        });
        return undefined;
      }
      if (keepReferences) return '';
      const value = env[target];
      if (value === undefined) {
        problems.push({
          path,
          message: `environment variable "${target}" is not set (referenced as \${env:${target}})`,
        });
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
      if (keepReferences) return '';
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
    if (
      value === null ||
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      value === undefined
    )
      return value;
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
  return { value, secrets: [...secrets], problems, resolved, unresolved };
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
export function resolveSecrets<T = unknown>(
  input: unknown,
  sources: SecretSources = {},
): ResolvedSecrets<T> {
  const { value, secrets, problems } = resolveReferences(input, sources);
  if (problems.length > 0) {
    const redact = createRedactor(secrets);
    throw new ConfigError(toConfigIssues(problems, (p) => redact(p.message)));
  }
  return { value: value as T, secrets };
}
