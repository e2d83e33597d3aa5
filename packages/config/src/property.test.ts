// Property tests: whatever a user (or a fuzzer) feeds the loader, the only thing it throws is
// a ConfigError with at least one issue.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { loadConfig, parseSluiceConfig } from './index.js';
import { testRegistry } from './__fixtures__/registry.js';

const registry = testRegistry();
const env = { A: 'alpha-value', B: '' };

function onlyConfigErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.issues.length).toBeGreaterThan(0);
    for (const issue of error.issues) {
      expect(typeof issue.path).toBe('string');
      expect(issue.message.length).toBeGreaterThan(0);
    }
  }
}

const key = fc.constantFrom(
  'version',
  'store',
  'server',
  'logging',
  'plugins',
  'connections',
  'destinations',
  'pipelines',
  'kind',
  'source',
  'connection',
  'routes',
  'defaultRoute',
  'schedule',
  'webhook',
  'api',
  'cron',
  'timezone',
  'name',
  'to',
  'when',
  'transform',
  'path',
  'op',
  'value',
  'all',
  'any',
  'not',
  'jsonpath',
  'batch',
  'retry',
  'apiKeys',
  'key',
  'keyHash',
  'scopes',
  'port',
  'url',
  'missed',
  'catchUp',
  'verify',
  'secret',
  'daily',
  'slack',
  'ga4',
  'database',
  'pick',
  'fields',
  'table',
  'propertyId',
  'credentials',
  '__proto__',
  'constructor',
);
const leaf = fc.oneof(
  fc.constantFrom(
    '${env:A}',
    '${env:B}',
    '${env:MISSING}',
    '$${env:A}',
    '${file:/nonexistent}',
    '${',
    'ga4',
    'slack',
    'database',
    'pick',
    '0 8 * * *',
    'Europe/Berlin',
    'skip',
    'lt',
    'hubspot-v3',
    'stop',
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
// Config-shaped data: objects keyed by the words the schemas know, so validation goes deep.
const configish = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 6 }),
})).object;

describe('property: loading never throws anything but ConfigError', () => {
  it('for arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        onlyConfigErrors(() => loadConfig(text, { env, registry }));
        onlyConfigErrors(() => loadConfig(text, { env, format: 'json' }));
      }),
      { numRuns: 300 },
    );
  });

  it('for YAML-ish text built from config words', () => {
    const line = fc.tuple(
      fc.nat({ max: 6 }),
      key,
      fc.constantFrom(
        ':',
        ': ',
        ':\n',
        ' - ',
        ': [',
        ': {',
        ': "${env:A}"',
        ': &a',
        ': *a',
        ': !tag',
      ),
      leaf,
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const text = lines
          .map(([indent, k, sep, value]) => `${' '.repeat(indent)}${k}${sep}${String(value)}`)
          .join('\n');
        onlyConfigErrors(() => loadConfig(text, { env, registry }));
      }),
      { numRuns: 300 },
    );
  });

  it('for arbitrary values', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
          withSparseArray: true,
        }),
        (value) => {
          onlyConfigErrors(() => parseSluiceConfig(value, { registry }));
          onlyConfigErrors(() => loadConfig(value as object, { env }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('for config-shaped data, with and without a registry', () => {
    fc.assert(
      fc.property(configish, (value) => {
        onlyConfigErrors(() => loadConfig(value, { env, registry }));
        onlyConfigErrors(() =>
          parseSluiceConfig({ pipelines: { daily: value }, destinations: { slack: value } }),
        );
      }),
      { numRuns: 500 },
    );
  });
});
