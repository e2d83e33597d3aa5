// What the operator-facing pages say about two behaviours that changed with issue 13, checked
// against the behaviour: rate limits apply per budget, not per API key (docs/api.md has the
// budgets), and a second process on an embedded store folder is refused, never a second writer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('server.rateLimit.perMinute is described per budget', () => {
  const schema = JSON.parse(read('docs/public/sluice.schema.json')) as {
    properties: {
      server: { properties: { rateLimit: { properties: { perMinute: { description: string } } } } };
    };
  };
  const texts = {
    'sluice.schema.json':
      schema.properties.server.properties.rateLimit.properties.perMinute.description,
    'configuration-guide.md':
      read('docs/configuration-guide.md')
        .split('\n')
        .find((line) => line.startsWith('| `rateLimit.perMinute`')) ?? '',
    'configuration.md':
      read('docs/configuration.md')
        .split('\n')
        .find((line) => line.startsWith('| `server.rateLimit.perMinute`')) ?? '',
  };

  it.each(Object.entries(texts))('%s names every budget and not "per API key" alone', (_, text) => {
    expect(text).not.toMatch(/per API key[.|]/);
    expect(text).toMatch(/valid API key/);
    expect(text).toMatch(/client address/);
    expect(text).toMatch(/\/metrics/);
    expect(text).toMatch(/pipeline/);
    expect(text).toMatch(/sender/);
    expect(text).toMatch(/\/healthz/);
  });
});

describe('docs/troubleshooting.md on a shared embedded store folder', () => {
  const page = read('docs/troubleshooting.md');
  const start = page.indexOf('## The embedded store fails to open');
  const section = page.slice(start, page.indexOf('\n## ', start + 1));

  it('says a second process is refused with SLUICE_ERR_DATA_DIR_LOCKED, not that both may write', () => {
    expect(start).toBeGreaterThan(0);
    expect(section).toContain('SLUICE_ERR_DATA_DIR_LOCKED');
    expect(section).not.toContain('both write to it');
    expect(section).toContain('./store.md#one-owner-per-data-folder');
  });
});
