import { describe, expect, it } from 'vitest';
import { compileTemplate, TemplateRenderError } from './template.js';

const batch = { id: 'b-1', records: [], pipeline: 'daily', runId: 'r1', source: 'ga4', attempt: 2 };

describe('templates (core engine)', () => {
  it('substitutes record fields (nested, array index), batch fields and the index', () => {
    const t = compileTemplate(
      '/{{ batch.pipeline }}/{{record.customer.id}}/{{ record.tags.1 }}/{{ index }}/{{ batch.attempt }}',
    );
    expect(t.perRecord).toBe(true);
    expect(t.render({ record: { customer: { id: 42 }, tags: ['a', 'b'] }, batch, index: 3 })).toBe(
      '/daily/42/b/3/2',
    );
    expect(compileTemplate('{{ batch.id }}').perRecord).toBe(false);
  });

  it('encodes substituted values only in the url context, so a record cannot change the URL structure', () => {
    const t = compileTemplate('https://h.example/t/{{ record.tenant }}?q=1', 'url');
    expect(t.render({ record: { tenant: '../admin?x=@evil.com#' }, batch })).toBe(
      'https://h.example/t/..%2Fadmin%3Fx%3D%40evil.com%23?q=1',
    );
    expect(
      compileTemplate('Bearer {{ record.token }}').render({ record: { token: 'a/b c' }, batch }),
    ).toBe('Bearer a/b c');
  });

  it('takes Liquid filters, as every other Sluice template', () => {
    const t = compileTemplate(
      'https://h.example/{{ record.tenant | downcase }}/{{ record.missing | default: "none" }}',
      'url',
    );
    expect(t.render({ record: { tenant: 'ACME' }, batch })).toBe('https://h.example/acme/none');
  });

  it('is static without placeholders and exposes literal text', () => {
    const t = compileTemplate('Bearer abc');
    expect(t.isStatic).toBe(true);
    expect(t.render({ batch })).toBe('Bearer abc');
    expect(compileTemplate('a{{ batch.id }}b').literals).toEqual(['a', 'b']);
    expect(compileTemplate('a{% if record.x %}b{% endif %}c').literals).toEqual(['a', 'b', 'c']);
  });

  it.each([
    ['{{ env.HOME }}', /must start with/],
    ['{{ record }}', /invalid placeholder/],
    ['{{ batch.secret }}', /batch fields are/],
    ['{{ batch }}', /batch fields are/],
    ['{{ record.a + 1 }}', /invalid template/],
    ['{{ constructor.constructor("x")() }}', /invalid template/],
    ['{{ record.a | nope }}', /undefined filter: nope/],
    ['{% include "x" %}', /invalid template/],
    ['x {{ record.a', /unbalanced|not closed/],
    ['x }}', /unbalanced/],
  ])('refuses %s at compile time', (source, message) => {
    expect(() => compileTemplate(source)).toThrow(message);
  });

  it.each([
    [{}, 'record.a', /record\.a is missing/],
    [{ a: null }, 'record.a.b', /record\.a\.b is null/],
    [{ a: { b: null } }, 'record.a.b', /record\.a\.b is null/],
    [{ a: { b: { c: 1 } } }, 'record.a.b', /object/],
    [{ a: { b: [1] } }, 'record.a.b', /array/],
  ])('fails one record naming the field (%j)', (record, field, message) => {
    const t = compileTemplate('{{ record.a.b }}');
    let error: unknown;
    try {
      t.render({ record, batch });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as TemplateRenderError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });

  it('fails on a batch field that is not set and on per-record placeholders without a record', () => {
    expect(() => compileTemplate('{{ batch.route }}').render({ batch })).toThrow(
      expect.objectContaining({ field: 'batch.route' }),
    );
    expect(() => compileTemplate('{{ record.id }}').render({ batch })).toThrow(TemplateRenderError);
    expect(() => compileTemplate('{{ index }}').render({ batch })).toThrow(
      expect.objectContaining({ field: 'index' }),
    );
  });

  it('does not read inherited properties', () => {
    expect(() => compileTemplate('{{ record.toString }}').render({ record: {}, batch })).toThrow(
      TemplateRenderError,
    );
  });
});
