// A destination's `expect` in the server's one validation pipeline (`sluice validate`, serve,
// API writes, reload): the router's compile step runs on it once per destination, whichever
// pipelines use it, with problems at `destinations.<name>.expect[i]...`; the plugin's schema
// never sees the key; a run's route table carries the list.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPluginContext } from '@sluice/core';
import { dryRun } from '@sluice/router';
import { createRegistry } from '../src/index.js';
import { compilePipelineTable } from '../src/runtime/executor.js';
import { validateServerConfig } from '../src/runtime/validation.js';

const config = (expectList: string) => `
destinations:
  gauges:
    kind: prometheus
    metrics:
      - { name: rows_total, type: counter, help: 'Rows' }
    expect:
${expectList}
pipelines:
  one:
    source: { kind: sample }
    routes: [{ name: all, to: [gauges] }]
  two:
    source: { kind: sample }
    routes: [{ name: some, to: [gauges] }]
`;

const validate = (text: string) =>
  validateServerConfig(text, {
    registry: createRegistry(),
    baseDir: mkdtempSync(join(tmpdir(), 'sluice-dest-expect-')),
  });

describe('destination expectations in validation', () => {
  it('reports what the compile step finds once, at the destination path', async () => {
    const result = await validate(
      config(
        [
          '      - { check: required, field: id }',
          '      - { check: row-count, minRatio: 1, action: drop }',
          "      - { check: pattern, field: email, pattern: '(a+)+$' }",
          '      - { check: required, field: id, action: warn }',
        ].join('\n'),
      ),
    );
    expect(result.ok).toBe(false);
    // Two pipelines use the destination; each problem is reported once.
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'destinations.gauges.expect[1].action: check "row-count" tests the whole run, so its action is "warn" or "fail-run" (there is no one record to drop)',
      expect.stringMatching(
        /^destinations\.gauges\.expect\[2\]\.pattern: a quantifier applied to a group that contains a quantifier/,
      ),
      'destinations.gauges.expect[3].name: duplicate expectation name "required:id" (also destinations.gauges.expect[0]); give one a "name"',
    ]);
  });

  it('accepts good ones, and the pipelines compile with them', async () => {
    const result = await validate(
      config(
        '      - { check: required, field: id }\n      - { check: row-count, minRatio: 1, action: warn }',
      ),
    );
    expect(result.issues).toEqual([]);
    expect(result.ok).toBe(true);
    const table = compilePipelineTable(
      result.config!,
      'two',
      createRegistry(),
      createPluginContext(),
    );
    expect(table.destinationExpectations!.get('gauges')!.map((e) => e.name)).toEqual([
      'required:id',
      'row-count',
    ]);
    const preview = dryRun([{ id: 1 }, { name: 'no id' }], table);
    expect(preview.destinations.gauges).toEqual([{ id: 1 }]);
    expect(preview.expectations!.destinations!.gauges!['required:id']!.violations).toBe(1);
  });
});
