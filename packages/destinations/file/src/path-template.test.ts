import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeBatch } from '@sluice/testing';
import { dateInZone, parsePathTemplate, renderPath, resolveInside, sanitizeSegment, type PathTemplate } from './path-template.js';

const parse = (source: string) => parsePathTemplate(source, 'path') as PathTemplate;

describe('path templates', () => {
  it('parses built-ins and record fields, including record.<builtin>', () => {
    const t = parse('{{ date }}/{{record.date}}/{{geo.country}}-{{batch.id}}.csv');
    expect(t.usesRecord).toBe(true);
    expect(t.usesBatchId).toBe(true);
    const batch = makeBatch([], { id: 'b1' });
    expect(renderPath(t, { batch, date: '2026-11-24' }, { date: 'x/y', geo: { country: 'DE' } })).toBe('2026-11-24/x_y/DE-b1.csv');
  });

  it('refuses templates that escape the root or are malformed, with the path', () => {
    for (const bad of ['../x', 'a/../../x', '/abs', 'a/{{}}', 'a/{{x', 'a\\b', 'dir/', 'a/./b']) {
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
