import { describe, expect, it } from 'vitest';
import { compileTemplate, TemplateRenderError } from './template.js';

const batch = { id: 'b-1', records: [], pipeline: 'daily', runId: 'r1', source: 'ga4', attempt: 2 };

describe('templates', () => {
  it('substitutes record fields (nested, array index), batch fields and the index', () => {
    const t = compileTemplate(
      '/{{ batch.pipeline }}/{{record.customer.id}}/{{ record.tags.1 }}/{{ index }}/{{ batch.attempt }}',
    );
    expect(t.perRecord).toBe(true);
    expect(t.render({ record: { customer: { id: 42 }, tags: ['a', 'b'] }, batch, index: 3 })).toBe(
      '/daily/42/b/3/2',
    );
  });

  it('encodes substituted values only, so a record cannot change the URL structure', () => {
    const t = compileTemplate('https://h.example/t/{{ record.tenant }}?q=1');
    expect(
      t.render({ record: { tenant: '../admin?x=@evil.com#' }, batch }, encodeURIComponent),
    ).toBe('https://h.example/t/..%2Fadmin%3Fx%3D%40evil.com%23?q=1');
  });

  it('is static without placeholders and exposes literal text', () => {
    const t = compileTemplate('Bearer abc');
    expect(t.isStatic).toBe(true);
    expect(t.render({ batch })).toBe('Bearer abc');
    expect(compileTemplate('a{{ batch.id }}b').literals).toEqual(['a', 'b']);
  });

  it.each([
    ['{{ env.HOME }}', /must start with/],
    ['{{ record }}', /invalid placeholder/],
    ['{{ batch.secret }}', /batch fields are/],
    ['{{ record.a + 1 }}', /invalid placeholder/],
    ['{{ constructor.constructor("x")() }}', /invalid placeholder/],
    ['x {{ record.a', /unbalanced/],
    ['x }}', /unbalanced/],
  ])('refuses %s at compile time', (source, message) => {
    expect(() => compileTemplate(source)).toThrow(message);
  });

  it.each([
    [{}, 'record.a.b', /missing/],
    [{ a: null }, 'record.a.b', /missing/],
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

  it('does not read inherited properties', () => {
    expect(() => compileTemplate('{{ record.toString }}').render({ record: {}, batch })).toThrow(
      TemplateRenderError,
    );
  });
});
