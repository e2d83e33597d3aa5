import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeBatch } from '@sluice/testing';
import {
  dateInZone,
  parsePathTemplate,
  renderPath,
  resolveInside,
  sanitizeSegment,
  type PathTemplate,
} from './path-template.js';

const parse = (source: string) => parsePathTemplate(source, 'path') as PathTemplate;

describe('path templates', () => {
  it('parses built-ins and record fields, including record.<builtin>', () => {
    const t = parse('{{ date }}/{{record.date}}/{{geo.country}}-{{batch.id}}.csv');
    expect(t.usesRecord).toBe(true);
    expect(t.usesBatchId).toBe(true);
    const batch = makeBatch([], { id: 'b1' });
    expect(
      renderPath(t, { batch, date: '2026-11-24' }, { date: 'x/y', geo: { country: 'DE' } }),
    ).toBe('2026-11-24/x_y/DE-b1.csv');
  });

  it('refuses templates that escape the root or are malformed, with the path', () => {
    for (const bad of [
      '../x',
      'a/../../x',
      '/abs',
      'a/{{}}',
      'a/{{x',
      'a\\b',
      'dir/',
      'a/./b',
      'a/{{ a b }}',
      'x }}/a',
      '{% if x %}../{% endif %}a',
      'a/{% include "x" %}',
    ]) {
      const result = parsePathTemplate(bad, 'destinations.f.path');
      expect('issues' in result, bad).toBe(true);
      if ('issues' in result) expect(result.issues[0]!.path).toBe('destinations.f.path');
    }
  });

  it('never lets a record value leave the root', () => {
    const t = parse('out/{{v}}/{{w}}.ndjson');
    const batch = makeBatch([]);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (v, w) => {
        let rendered: string;
        try {
          rendered = renderPath(t, { batch, date: 'd' }, { v, w });
        } catch {
          return;
        }
        expect(resolveInside('/root', rendered)).toMatch(/^\/root\/out\/[^/]+\/[^/]+\.ndjson$/);
      }),
    );
  });

  it('keeps the old names: built-ins win over record fields, record.<name> reaches the field', () => {
    const t = parse(
      '{{pipeline}}/{{route}}/{{runId}}/{{batch.source}}/{{date}}-{{record.date}}-{{ channel }}.csv',
    );
    expect(t.usesRecord).toBe(true);
    expect(t.usesBatchId).toBe(false);
    const batch = makeBatch([], { pipeline: 'daily', runId: '7f', source: 'ga4' });
    expect(
      renderPath(
        t,
        { batch, date: '2026-11-24' },
        { date: 'field', pipeline: 'nope', channel: 'email' },
      ),
    ).toBe('daily/all/7f/ga4/2026-11-24-field-email.csv');
    expect(parse('out/{{date}}/{{batch.id}}.csv').usesRecord).toBe(false);
  });

  it("runs on core's template engine: filters work and are escaped into one segment too", () => {
    const t = parse('out/{{ record.at | date: "%Y/%m" }}/{{ channel | upcase }}.csv');
    expect(
      renderPath(
        t,
        { batch: makeBatch([]), date: 'd' },
        { at: '2026-11-24T10:00:00Z', channel: 'a/b' },
      ),
    ).toBe('out/2026_11/A_B.csv');
    expect(parsePathTemplate('out/{{ channel | nope }}.csv', 'path')).toEqual({
      issues: [{ path: 'path', message: expect.stringMatching(/undefined filter: nope/) }],
    });
  });

  it('fails one record naming the field: missing, null, not a scalar, or empty', () => {
    const t = parse('out/{{geo.country}}.csv');
    const batch = makeBatch([]);
    for (const [record, problem] of [
      [{}, 'field "geo" is missing'],
      [{ geo: {} }, 'field "geo.country" is missing'],
      [{ geo: { country: null } }, 'field "geo.country" is null'],
      [{ geo: { country: { a: 1 } } }, 'field "geo.country" is an object, not a text or number'],
      [{ geo: { country: '' } }, 'field "geo.country" is empty'],
    ] as const) {
      expect(() => renderPath(t, { batch, date: 'd' }, record), JSON.stringify(record)).toThrow(
        problem,
      );
    }
  });

  it('checks every rendered path again, whatever tags produced it', () => {
    const batch = makeBatch([]);
    // The config-time shape is "out/.x./f.csv"; with record.up it renders "out/../f.csv".
    const t = parse('out/{% if record.up %}.{% else %}x{% endif %}./f.csv');
    expect(() => renderPath(t, { batch, date: 'd' }, { up: true })).toThrow(
      /must not contain \. or \.\. segments/,
    );
    expect(renderPath(t, { batch, date: 'd' }, { up: false })).toBe('out/x./f.csv');
  });

  it('sanitises values into one segment', () => {
    expect(sanitizeSegment('a/b\\c d')).toBe('a_b_c_d');
    expect(sanitizeSegment('.hidden')).toBe('_hidden');
    expect(sanitizeSegment('x\u0000y')).toBe('x_y');
  });

  it('formats the date of the write in a time zone', () => {
    const late = Date.UTC(2026, 10, 24, 23, 30);
    expect(dateInZone(late, 'UTC')).toBe('2026-11-24');
    expect(dateInZone(late, 'Europe/Berlin')).toBe('2026-11-25');
    expect(dateInZone(late, 'America/New_York')).toBe('2026-11-24');
  });
});
