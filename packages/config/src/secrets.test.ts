import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { MAX_CONFIG_DEPTH, MAX_SECRET_FILE_BYTES, resolveSecrets } from './index.js';
import { findReferences, resolveReferences } from './secrets.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-config-secrets-'));
  writeFileSync(join(dir, 'token.txt'), 'file-token-123\n');
  writeFileSync(join(dir, 'big.txt'), 'x'.repeat(MAX_SECRET_FILE_BYTES + 1));
  mkdirSync(join(dir, 'folder'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveSecrets', () => {
  it('replaces whole and embedded env references and lists the secrets', () => {
    const { value, secrets } = resolveSecrets(
      { a: '${env:PW}', b: ['postgres://app:${env:PW}@db/${env:DB}'], n: 1, t: true, z: null },
      { env: { PW: 'hunter22', DB: 'app' } },
    );
    expect(value).toEqual({
      a: 'hunter22',
      b: ['postgres://app:hunter22@db/app'],
      n: 1,
      t: true,
      z: null,
    });
    expect(secrets.sort()).toEqual(['app', 'hunter22']);
  });
  it('reads files relative to baseDir, without the trailing newline', () => {
    const { value, secrets } = resolveSecrets(
      { token: '${file:token.txt}', abs: `\${file:${join(dir, 'token.txt')}}` },
      { baseDir: dir },
    );
    expect(value).toEqual({ token: 'file-token-123', abs: 'file-token-123' });
    expect(secrets).toEqual(['file-token-123']);
  });
  it('keeps $${ as a literal ${ and a lone $ as it is', () => {
    const { value, secrets } = resolveSecrets({ a: '$${env:X} costs $5 and $$', b: 'no refs' });
    expect(value).toEqual({ a: '${env:X} costs $5 and $$', b: 'no refs' });
    expect(secrets).toEqual([]);
  });
  it('accepts an empty env value as set', () => {
    expect(resolveSecrets('${env:EMPTY}', { env: { EMPTY: '' } }).value).toBe('');
  });
  it('reports every missing variable and bad reference with its path', () => {
    const issues = issuesOf(() =>
      resolveSecrets(
        {
          db: { password: '${env:PG_PASSWORD}' },
          list: ['${env:1BAD}', '${vault:x}', 'oops ${env:X', '${file:}'],
        },
        { env: {} },
      ),
    );
    expect(issues).toEqual([
      {
        path: 'db.password',
        message: 'environment variable "PG_PASSWORD" is not set (referenced as ${env:PG_PASSWORD})',
      },
      { path: 'list[0]', message: 'invalid environment variable name in "${env:1BAD}"' },
      {
        path: 'list[1]',
        message:
          'unknown reference "${vault:x}": use ${env:NAME} or ${file:path}, or write "$${" for a literal "${"',
      },
      {
        path: 'list[2]',
        message: 'unterminated reference "${": close it with "}" or write "$${" for a literal "${"',
      },
      { path: 'list[3]', message: 'empty path in "${file:}"' },
    ]);
  });
  it('reports unreadable secret files', () => {
    const issues = issuesOf(() =>
      resolveSecrets(
        {
          a: '${file:missing.txt}',
          b: '${file:folder}',
          c: '${file:big.txt}',
          d: '${file:missing.txt}',
        },
        { baseDir: dir },
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(['a', 'b', 'c', 'd']);
    expect(issues[0]!.message).toBe(
      `cannot read secret file "missing.txt" (${join(dir, 'missing.txt')}): no such file`,
    );
    expect(issues[1]!.message).toMatch(/not a regular file$/);
    expect(issues[2]!.message).toMatch(new RegExp(`larger than ${MAX_SECRET_FILE_BYTES} bytes$`));
  });
  it('never puts a resolved secret into an error message', () => {
    const issues = issuesOf(() =>
      resolveSecrets({ a: '${env:PW}', b: '${env:MISSING}' }, { env: { PW: 'topsecret' } }),
    );
    expect(JSON.stringify(issues)).not.toContain('topsecret');
  });
});

describe('resolveReferences (plain-data copy)', () => {
  it('rejects values that are not JSON data', () => {
    const input = {
      d: new Date(0),
      f: () => 1,
      m: new Map(),
      s: Symbol('x'),
      b: 1n,
      ok: Object.create(null) as object,
    };
    const { problems, value } = resolveReferences(input);
    expect(problems).toEqual([
      { path: ['d'], message: 'expected a JSON value, got a Date' },
      { path: ['f'], message: 'expected a JSON value, got a function' },
      { path: ['m'], message: 'expected a JSON value, got a Map' },
      { path: ['s'], message: 'expected a JSON value, got a symbol' },
      { path: ['b'], message: 'expected a JSON value, got 1n' },
    ]);
    expect((value as { ok: object }).ok).toEqual({});
  });
  it('rejects cycles but accepts shared subtrees', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const { problems } = resolveReferences(cyclic);
    expect(problems).toEqual([{ path: ['self'], message: 'circular reference' }]);
  });
  it('limits nesting depth', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < MAX_CONFIG_DEPTH + 5; i++) deep = [deep];
    const { problems } = resolveReferences(deep);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe(`nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  });
  it('refuses __proto__ keys', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const { problems, value } = resolveReferences(input);
    expect(problems).toEqual([
      { path: ['__proto__'], message: 'the key "__proto__" is not allowed' },
    ]);
    expect(value).toEqual({ a: 1 });
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
  it('copies strings literally in literal mode', () => {
    expect(resolveReferences({ a: '${env:X}' }, { literal: true })).toEqual({
      value: { a: '${env:X}' },
      secrets: [],
      problems: [],
      resolved: [],
      unresolved: [],
    });
  });
  it('without the environment, checks every reference but resolves none and reads no file', () => {
    const out = resolveReferences(
      {
        a: '${env:UNSET}',
        b: ['x${file:/does/not/exist}y'],
        c: '${vault:x}',
        d: '${env:1BAD}',
        e: 'plain',
      },
      { environment: false, env: { UNSET: 'would-be-secret' } },
    );
    expect(out.value).toEqual({
      a: '${env:UNSET}',
      b: ['x${file:/does/not/exist}y'],
      c: '${vault:x}',
      d: '${env:1BAD}',
      e: 'plain',
    });
    expect(out.secrets).toEqual([]);
    expect(out.unresolved).toEqual([['a'], ['b', 0], ['c'], ['d']]);
    expect(out.problems.map((p) => p.path)).toEqual([['c'], ['d']]);
  });
  it('lists each string it resolved, as written and as resolved', () => {
    const { resolved } = resolveReferences(
      { a: 'x${env:A}y', b: 'plain', c: ['$${env:A}'] },
      { env: { A: 'secret-a' } },
    );
    expect(resolved).toEqual([{ path: ['a'], original: 'x${env:A}y', value: 'xsecret-ay' }]);
  });
});

describe('findReferences', () => {
  const refs = (input: unknown) =>
    findReferences(input).map((r) => ({
      path: r.path.join('/'),
      text: r.text,
      scheme: r.scheme,
      target: r.target,
      inKey: r.inKey,
    }));

  it('finds whole, embedded and repeated references with their paths', () => {
    expect(
      refs({ a: '${env:A}', b: ['x${file:/etc/shadow}y ${env:B}'], c: { d: 1, e: null } }),
    ).toEqual([
      { path: 'a', text: '${env:A}', scheme: 'env', target: 'A', inKey: false },
      {
        path: 'b/0',
        text: '${file:/etc/shadow}',
        scheme: 'file',
        target: '/etc/shadow',
        inKey: false,
      },
      { path: 'b/0', text: '${env:B}', scheme: 'env', target: 'B', inKey: false },
    ]);
  });
  it('finds malformed and nested references that resolution would report, and references in keys', () => {
    expect(
      refs({ a: '${vault:x}', b: '${env:${env:A}}', c: '${ENV:A}', d: '${A}', '${env:K}': 1 }),
    ).toEqual([
      { path: 'a', text: '${vault:x}', scheme: 'vault', target: 'x', inKey: false },
      { path: 'b', text: '${env:${env:A}', scheme: 'env', target: '${env:A', inKey: false },
      { path: 'c', text: '${ENV:A}', scheme: 'ENV', target: 'A', inKey: false },
      { path: 'd', text: '${A}', scheme: '', target: 'A', inKey: false },
      { path: '${env:K}', text: '${env:K}', scheme: 'env', target: 'K', inKey: true },
    ]);
  });
  it('skips $${ escapes exactly as resolution does', () => {
    const input = {
      a: '$${env:A}',
      b: '$$${env:A}',
      c: '$$$${env:A}',
      d: '$ ${',
      e: 'cost $5',
      f: '$${env:A}${env:B}',
    };
    expect(refs(input)).toEqual([
      { path: 'f', text: '${env:B}', scheme: 'env', target: 'B', inKey: false },
    ]);
    // What findReferences skips, resolution leaves as text; what it finds, resolution resolves.
    const { value, problems } = resolveReferences(input, { env: { A: 'secret-a', B: 'secret-b' } });
    expect(problems.map((p) => p.path)).toEqual([['d']]);
    expect(value).toEqual({
      a: '${env:A}',
      b: '$${env:A}',
      c: '$$${env:A}',
      d: '$ ${',
      e: 'cost $5',
      f: '${env:A}secret-b',
    });
  });
  it('stops where resolution stops: cycles and the depth limit', () => {
    const cyclic: Record<string, unknown> = { a: '${env:A}' };
    cyclic.self = cyclic;
    expect(refs(cyclic).map((r) => r.path)).toEqual(['a']);
    let deep: unknown = '${env:DEEP}';
    for (let i = 0; i < MAX_CONFIG_DEPTH + 1; i++) deep = [deep];
    expect(findReferences(deep)).toEqual([]);
    expect(resolveReferences(deep, { env: { DEEP: 'deep-secret' } }).secrets).toEqual([]);
  });
});
