// A destination's `expect`: validated by the expectation schema at its own path, owned by the
// engine (never handed to the plugin's configSchema), and passed to per-destination checks.
import { describe, expect, it } from 'vitest';
import { testRegistry } from './__fixtures__/registry.js';
import { destinationOptions, parseSluiceConfig } from './index.js';
import { validateConfig, type ConfigCheck } from './validate.js';

const text = (expectList: string) => `destinations:
  warehouse:
    kind: database
    url: postgres://db/app
    table: t
    expect:
${expectList}
pipelines:
  daily:
    source: { kind: ga4, propertyId: "1", credentials: "\${env:GA4_KEY}" }
    routes: [{ name: all, to: [warehouse] }]
`;

describe('destinations.<name>.expect', () => {
  it('is valid beside the plugin options, and not one of them', async () => {
    const result = await validateConfig(
      text(
        '      - { check: required, field: id }\n      - { check: row-count, minRatio: 1, action: warn }',
      ),
      { registry: testRegistry(), env: { GA4_KEY: 'k' } },
    );
    // The database kind's strictObject schema would refuse an unknown `expect` key.
    expect(result.issues).toEqual([]);
    expect(result.ok).toBe(true);
    const config = parseSluiceConfig({
      destinations: {
        warehouse: {
          kind: 'database',
          table: 't',
          expect: [{ check: 'unique', field: 'id', action: 'drop' }],
        },
      },
    });
    expect(config.destinations.warehouse!.expect).toEqual([
      { check: 'unique', field: 'id', action: 'drop' },
    ]);
    expect(destinationOptions(config, 'warehouse').options).toEqual({ table: 't' });
  });

  it('refuses a bad expectation with the field path', async () => {
    const result = await validateConfig(
      text(
        '      - { check: required, field: id }\n      - { check: required, field: email, action: explode }\n      - { check: nope }',
      ),
      { registry: testRegistry(), env: { GA4_KEY: 'k' } },
    );
    expect(result.ok).toBe(false);
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^destinations\.warehouse\.expect\[1\]\.action: .*explode/),
      expect.stringMatching(/^destinations\.warehouse\.expect\[2\]\.check: .*nope/),
    ]);
  });

  it('is handed to per-destination checks, even when another part of the file is broken', async () => {
    const seen: string[] = [];
    const check: ConfigCheck = {
      destination: ({ name, destination, data }) => {
        seen.push(`${name}:${destination ? 'valid' : 'invalid'}:${JSON.stringify(data.expect)}`);
        return destination?.expect?.length === 1
          ? [{ path: ['destinations', name, 'expect', 0], message: 'one is lonely' }]
          : [];
      },
    };
    const result = await validateConfig(
      `${text('      - { check: required, field: id }')}server: { port: -1 }\n`,
      { registry: testRegistry(), env: { GA4_KEY: 'k' }, checks: [check] },
    );
    expect(seen).toEqual(['warehouse:valid:[{"check":"required","field":"id"}]']);
    // Issues come in the order of the file.
    expect(result.issues.map((i) => i.path)).toEqual([
      'destinations.warehouse.expect[0]',
      'server.port',
    ]);
  });
});
