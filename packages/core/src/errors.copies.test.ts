import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as here from './errors.js';

type ErrorsModule = typeof here;

// Two installed copies of @sluice/core (a plugin's own and the engine's) are two module
// instances with two sets of classes. The errors module is compiled twice into separate folders
// and imported from each, which is exactly that situation (with the error catalog it takes its
// codes from).
const compile = (file: string) =>
  ts.transpileModule(readFileSync(new URL(file, import.meta.url), 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      useDefineForClassFields: true,
    },
  }).outputText;
const compiled = compile('./errors.ts');
const compiledCatalog = compile('./error-catalog.ts');

let root: string;
let a: ErrorsModule;
let b: ErrorsModule;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sluice-core-copies-'));
  const load = async (name: string): Promise<ErrorsModule> => {
    const dir = join(root, name, 'node_modules', '@sluice', 'core', 'dist');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'errors.js'), compiled);
    writeFileSync(join(dir, 'error-catalog.js'), compiledCatalog);
    return (await import(pathToFileURL(join(dir, 'errors.js')).href)) as ErrorsModule;
  };
  a = await load('plugin');
  b = await load('engine');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('errors across two copies of @sluice/core', () => {
  it('are different classes, as with two installs', () => {
    expect(a.FatalError).not.toBe(b.FatalError);
    expect(Function.prototype[Symbol.hasInstance].call(b.FatalError, new a.FatalError('x'))).toBe(
      false,
    );
  });

  it("a FatalError from copy A is not retried by copy B's isRetryable; a RetryableError is", () => {
    expect(b.isRetryable(new a.FatalError('denied'))).toBe(false);
    expect(b.isRetryable(new a.ConfigError([{ path: 'x', message: 'bad' }]))).toBe(false);
    expect(b.isRetryable(new a.PartialBatchError([{ index: 0, error: new Error('x') }]))).toBe(
      false,
    );
    expect(b.isRetryable(new a.RetryableError('busy'))).toBe(true);
    expect(b.isRetryable(new Error('ECONNRESET'))).toBe(true);
    expect(here.isRetryable(new b.FatalError('denied'))).toBe(false);
  });

  it('isSluiceError and instanceof recognise the other copy by its brand', () => {
    const fatal = new a.FatalError('denied');
    expect(b.isSluiceError(fatal)).toBe(true);
    expect(b.isSluiceError(new Error('x'))).toBe(false);
    expect(b.isSluiceError({ message: 'x' })).toBe(false);
    expect(fatal instanceof b.FatalError).toBe(true);
    expect(fatal instanceof b.SluiceError).toBe(true);
    expect(fatal instanceof b.RetryableError).toBe(false);
    expect(new a.RetryableError('x', { retryAfterMs: 5 }) instanceof b.RetryableError).toBe(true);
    expect(new a.ConfigError([]) instanceof b.FatalError).toBe(false);
    expect((fatal as unknown as Record<symbol, unknown>)[Symbol.for('sluice.error')]).toBe('fatal');
    expect(a.SLUICE_ERROR_BRAND).toBe(b.SLUICE_ERROR_BRAND);
  });

  it('a subclass declared outside the family matches only its own instances', () => {
    class RunTimeoutError extends here.RetryableError {}
    expect(new here.RetryableError('x') instanceof RunTimeoutError).toBe(false);
    expect(new a.RetryableError('x') instanceof RunTimeoutError).toBe(false);
    expect(new RunTimeoutError('x') instanceof RunTimeoutError).toBe(true);
    expect(new RunTimeoutError('x') instanceof b.RetryableError).toBe(true);
    expect(b.isRetryable(new RunTimeoutError('x'))).toBe(true);
  });
});
