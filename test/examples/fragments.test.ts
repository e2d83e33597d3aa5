// The machinery of examples.test.ts: finding YAML blocks, wrapping fragments, faking secrets.
// If it silently accepted everything, the examples test would prove nothing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry } from '@sluice/server';
import { EXAMPLE_ENV, withFakeSecretFiles } from './fake-secrets.js';
import { completeFragment, NotAFragmentError, STUB } from './fragments.js';
import { describeFailure, validateFully } from './full-validation.js';
import { PARTIAL_MARKER, yamlBlocks } from './markdown-blocks.js';

const registry = createRegistry();
const stub = { kind: 'file', root: './out', path: `${STUB}/{{batch.id}}.ndjson` };
const example = {
  connections: { 'ga4-main': { kind: 'ga4', propertyId: '1', metrics: ['sessions'] } },
  destinations: { archive: { kind: 'file', root: './out', path: 'a/{{batch.id}}.ndjson' } },
};
const complete = (value: unknown) => completeFragment(value, { registry, example, stub });
const dir = mkdtempSync(join(tmpdir(), 'sluice-fragments-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('yamlBlocks', () => {
  it('finds yaml and yml fences, dedents indented ones and ignores other languages', () => {
    const page = [
      '# t',
      '```yaml',
      'a: 1',
      '```',
      '```ts',
      'x',
      '```',
      '- item',
      '  ```yml',
      '  b: 2',
      '  ```',
      '',
    ].join('\n');
    expect(yamlBlocks(page, 'p.md')).toEqual([
      { file: 'p.md', line: 2, text: 'a: 1\n', partial: false },
      { file: 'p.md', line: 9, text: 'b: 2\n', partial: false },
    ]);
  });

  it('marks a block partial only when the marker is the line before it (blank lines allowed)', () => {
    const page = [
      PARTIAL_MARKER,
      '',
      '```yaml',
      'x: 1',
      '```',
      PARTIAL_MARKER,
      'text',
      '```yaml',
      'y: 2',
      '```',
    ].join('\n');
    expect(yamlBlocks(page, 'p.md').map((b) => b.partial)).toEqual([true, false]);
  });
});

describe('completeFragment', () => {
  it('gives a destination fragment a pipeline that routes to it', () => {
    const { shape, document } = complete({
      destinations: { out: { kind: 'file', root: '.', path: 'x' } },
    });
    expect(shape).toBe('document');
    expect(document.pipelines).toEqual({
      [`${STUB}-destinations`]: {
        source: { kind: 'sample' },
        routes: [{ name: STUB, to: ['out'] }],
      },
    });
  });

  it('wraps a bare destination, transform steps and routes', () => {
    expect(complete({ kind: 'slack', token: 'x' }).shape).toBe('destination');
    expect(complete({ kind: 'ga4', propertyId: '1' }).shape).toBe('connector source');
    expect(complete([{ kind: 'pick', fields: ['a'] }]).document.pipelines).toEqual({
      [STUB]: {
        source: { kind: 'sample' },
        routes: [{ name: STUB, transform: [{ kind: 'pick', fields: ['a'] }], to: [STUB] }],
      },
    });
    expect(complete({ when: '$.a' }).shape).toBe('route');
  });

  it('takes the connections and destinations a fragment names from the example, and nothing else', () => {
    const { document } = complete({
      pipelines: {
        p: {
          source: { connection: 'ga4-main' },
          routes: [{ name: 'r', to: ['archive', 'elsewhere'] }],
        },
      },
    });
    expect(Object.keys(document.connections as object)).toEqual(['ga4-main']);
    expect(Object.keys(document.destinations as object)).toEqual(['archive']);
  });

  it('refuses what is not configuration', () => {
    expect(() => complete({ sources: { a: { url: 'x' } } })).toThrow(NotAFragmentError);
    expect(() => complete(['a', 'b'])).toThrow(NotAFragmentError);
    expect(() => complete({ kind: 'no-such-kind' })).toThrow(NotAFragmentError);
  });

  it('leaves a section of the wrong type for the validation to reject', async () => {
    const { document } = complete({
      pipelines: [{ name: 'daily', cron: { expression: '0 8 * * *' } }],
    });
    const failure = await validateFully(document, { env: {}, baseDir: dir }).then(
      () => 'valid',
      describeFailure,
    );
    expect(failure).toContain('pipelines: expected a map of pipeline names to pipelines');
  });

  it('lets the validation reject a plugin option the plugin does not have', async () => {
    const { document } = complete({
      destinations: { bucket: { kind: 's3', bucket: 'acme-reports', accessKeyId: 'x' } },
    });
    const failure = await validateFully(document, { env: {}, baseDir: dir }).then(
      () => 'valid',
      describeFailure,
    );
    expect(failure).toContain('destinations.bucket.accessKeyId: unknown key "accessKeyId"');
  });
});

describe('withFakeSecretFiles', () => {
  it('creates key files and tokens, and moves absolute paths under the folder', () => {
    const doc = withFakeSecretFiles(
      {
        a: '${file:./secrets/sa.json}',
        b: 'x ${file:/run/secrets/webhook-secret}',
        c: '$${file:literal}',
      },
      dir,
    );
    expect(JSON.parse(readFileSync(join(dir, 'secrets/sa.json'), 'utf8'))).toMatchObject({
      type: 'service_account',
    });
    expect(doc.b).toBe(`x \${file:${join(dir, 'root/run/secrets/webhook-secret')}}`);
    expect(readFileSync(join(dir, 'root/run/secrets/webhook-secret'), 'utf8')).toMatch(/^whsec_/);
    expect(doc.c).toBe('$${file:literal}');
  });

  it('supplies environment values shaped as the plugins require', async () => {
    const document = complete({
      destinations: {
        alerts: { kind: 'slack', token: '${env:SLACK_BOT_TOKEN}', channel: '#a', text: 'x' },
      },
    }).document;
    await expect(
      validateFully(document, { env: EXAMPLE_ENV, baseDir: dir }),
    ).resolves.toBeDefined();
  });
});
