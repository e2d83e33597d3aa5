import { describe, expect, it } from 'vitest';
import { TemplateError, compileTemplate, scalarOutputProblem } from './compile.js';
import {
  TEMPLATE_ESCAPES,
  escapeHtml,
  escapeNone,
  escapePathSegment,
  escapeUrlComponent,
} from './escape.js';

describe('the escape of each context', () => {
  it('url: one URL component, so a value cannot change the URL structure', () => {
    const t = compileTemplate(
      'url',
      'https://h.example/t/{{ record.tenant }}?q=1',
      TEMPLATE_ESCAPES.url,
    );
    expect(t.render({ record: { tenant: '../admin?x=@evil.com#' } })).toBe(
      'https://h.example/t/..%2Fadmin%3Fx%3D%40evil.com%23?q=1',
    );
    expect(escapeUrlComponent('a b/ü')).toBe('a%20b%2F%C3%BC');
  });

  it('path-segment: one safe path segment, never "." or ".." or a hidden name', () => {
    expect(escapePathSegment('a/b\\c d')).toBe('a_b_c_d');
    expect(escapePathSegment('.hidden')).toBe('_hidden');
    expect(escapePathSegment('..')).toBe('_.');
    expect(escapePathSegment('x\u0000y')).toBe('x_y');
    expect(escapePathSegment('Zu\u0308rich 1')).toBe('Zürich_1');
    expect(escapePathSegment('x'.repeat(200))).toHaveLength(120);
    expect(
      compileTemplate('path', 'out/{{ who }}.csv', TEMPLATE_ESCAPES['path-segment']).render({
        who: '../../etc/passwd',
      }),
    ).toBe('out/_._.._etc_passwd.csv');
  });

  it('html: markup in values is inert; the template text is not escaped', () => {
    expect(escapeHtml('<b>"Tom" & Jerry\'s</b>')).toBe(
      '&lt;b&gt;&quot;Tom&quot; &amp; Jerry&#39;s&lt;/b&gt;',
    );
    expect(
      compileTemplate('html', '<p>{{ record.x }}</p>', TEMPLATE_ESCAPES.html).render({
        record: { x: '<script>' },
      }),
    ).toBe('<p>&lt;script&gt;</p>');
  });

  it('none: values as they are, objects as JSON, null as empty', () => {
    expect(escapeNone({ a: 1 })).toBe('{"a":1}');
    expect(escapeNone(null)).toBe('');
    expect(escapeNone(7)).toBe('7');
    expect(TEMPLATE_ESCAPES.none).toBe(escapeNone);
  });
});

describe('checkOutput', () => {
  const scalar = { checkOutput: scalarOutputProblem, escape: TEMPLATE_ESCAPES.url };

  it('refuses null, arrays and objects, naming the variable', () => {
    const t = compileTemplate('url', '/{{ record.a.b }}', scalar);
    expect(t.render({ record: { a: { b: 'x y' } } })).toBe('/x%20y');
    for (const [value, problem] of [
      [null, 'is null'],
      [[1], 'is an array, not a text or number'],
      [{ c: 1 }, 'is an object, not a text or number'],
    ] as const) {
      let error: unknown;
      try {
        t.render({ record: { a: { b: value } } });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(TemplateError);
      expect(error).toMatchObject({
        template: 'url',
        variable: 'record.a.b',
        problem,
        message: `template url: variable record.a.b ${problem}`,
      });
    }
  });

  it('names a missing variable as before, with its problem', () => {
    expect(() => compileTemplate('url', '/{{ record.a }}', scalar).render({ record: {} })).toThrow(
      expect.objectContaining({
        variable: 'record.a',
        problem: 'is missing',
        message: 'template url: variable record.a is missing',
      }),
    );
  });

  it('lists every variable path a template reads', () => {
    expect(compileTemplate('x', '{{ record.tags.1 }}{{ batch.id }}{{ index }}').variables).toEqual([
      "record.tags['1']",
      'batch.id',
      'index',
    ]);
  });
});

describe('strictOutputSyntax', () => {
  it('refuses an output that is more than one value, which Liquid alone would read as its first', () => {
    expect(compileTemplate('x', '{{ a b }}').render({ a: 'A', b: 'B' })).toBe('A');
    for (const source of [
      '{{ a b }}',
      '{{ a, b }}',
      '{{}}',
      '{{ a.b c | upcase }}',
      'x/{{ record.a + 1 }}',
    ]) {
      expect(() => compileTemplate('x', source, { strictOutputSyntax: true }), source).toThrow(
        /is not one value/,
      );
    }
  });

  it('accepts fields, bracket paths, literals, ranges and filters with any arguments', () => {
    const sources = [
      '{{ a }}',
      '{{- a.b -}}',
      "{{ a['x y'] }}",
      '{{ a[0] }}',
      '{{ "a|b" }}',
      '{{ 42 }}',
      '{{ (1..3) | join: "," }}',
      '{{ a | append: " | ", b }}',
    ];
    for (const source of sources)
      expect(
        () => compileTemplate('x', source, { strictOutputSyntax: true }),
        source,
      ).not.toThrow();
  });
});
