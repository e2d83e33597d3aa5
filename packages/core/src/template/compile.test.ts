import { describe, expect, it } from 'vitest';
import {
  TemplateError,
  compileTemplate,
  isStaticTemplate,
  templateProblem,
  templateReads,
} from './compile.js';

const caught = (fn: () => unknown): TemplateError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }
  throw new Error('expected a TemplateError');
};

describe('compileTemplate', () => {
  it('compiles once, lists the globals it reads and renders many times', () => {
    const subject = compileTemplate('subject', 'Order {{ record.id }} of {{ batch.id }}');
    expect(subject.name).toBe('subject');
    expect(subject.source).toBe('Order {{ record.id }} of {{ batch.id }}');
    expect([...subject.globals].sort()).toEqual(['batch', 'record']);
    expect(subject.render({ record: { id: 42 }, batch: { id: 'b1' } })).toBe('Order 42 of b1');
    expect(subject.render({ record: { id: 43 }, batch: { id: 'b1' } })).toBe('Order 43 of b1');
  });

  it('names the template and the missing variable', () => {
    const subject = compileTemplate('subject', 'Hi {{ record.user.name }}');
    const err = caught(() => subject.render({ record: { user: {} } }));
    expect(err.name).toBe('TemplateError');
    expect(err.template).toBe('subject');
    expect(err.variable).toBe('record.user.name');
    expect(err.message).toBe('template subject: variable record.user.name is missing');
  });

  it('keeps optional fields expressible', () => {
    const text = compileTemplate(
      'text',
      '{{ record.x | default: "-" }}{% if record.y %}y{% endif %}',
    );
    expect(text.render({ record: {} })).toBe('-');
  });

  it('names the template in compile errors', () => {
    expect(caught(() => compileTemplate('to[0]', '{{ record.x | nope }}')).message).toMatch(
      /^template to\[0\]: undefined filter: nope/,
    );
    expect(caught(() => compileTemplate('text', '{% if %}')).message).toMatch(/^template text: /);
    expect(caught(() => compileTemplate('text', "{% include '/etc/passwd' %}")).message).toMatch(
      /^template text: ENOENT/,
    );
    expect(caught(() => compileTemplate('text', '{% include file %}')).message).toMatch(
      /^template text: ENOENT/,
    );
  });

  it('reports other render failures with the template name', () => {
    const text = compileTemplate(
      'text',
      '{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}',
    );
    const err = caught(() => text.render({}));
    expect(err.message).toMatch(/^template text: memory alloc limit exceeded/);
    expect(err.variable).toBeUndefined();
  });

  it('hides prototypes: a constructor is a missing variable', () => {
    const text = compileTemplate('text', '{{ record.constructor }}');
    expect(caught(() => text.render({ record: {} })).variable).toBe('record.constructor');
    expect(caught(() => compileTemplate('t', '{{ __proto__ }}').render({})).variable).toBe(
      '__proto__',
    );
  });

  it('takes an escape function, alone or in options, without mixing engines', () => {
    const html = (value: unknown) => String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const shout = (value: unknown) => String(value).toUpperCase();
    const scope = { record: { v: '<a> & b' } };
    expect(compileTemplate('a', '<p>{{ record.v }}</p>', html).render(scope)).toBe(
      '<p>&lt;a> &amp; b</p>',
    );
    expect(compileTemplate('b', '<p>{{ record.v }}</p>', { escape: shout }).render(scope)).toBe(
      '<p><A> & B</p>',
    );
    expect(compileTemplate('c', '<p>{{ record.v }}</p>').render(scope)).toBe('<p><a> & b</p>');
  });

  it('formats dates in UTC unless a zone is given', () => {
    const source = '{{ record.at | date: "%Y/%m/%d/%H" }}';
    const scope = { record: { at: '2026-11-24T23:30:00Z' } };
    expect(compileTemplate('key', source).render(scope)).toBe('2026/11/24/23');
    expect(compileTemplate('key', source, { timeZone: 'Asia/Tokyo' }).render(scope)).toBe(
      '2026/11/25/08',
    );
  });
});

describe('templateProblem', () => {
  it('returns the problem without the empty template name, or undefined', () => {
    expect(templateProblem('{{ record.x }}')).toBeUndefined();
    expect(templateProblem('{{ record.x | nope }}')).toMatch(/^undefined filter: nope/);
    expect(templateProblem('{{ record.x | nope }}', (v) => String(v))).toMatch(
      /^undefined filter: nope/,
    );
  });
});

describe('templateReads', () => {
  it('tells whether a top-level variable is read, false when it does not compile', () => {
    expect(templateReads('{{ record.id }} of {{ batch.id }}', 'record')).toBe(true);
    expect(templateReads('{% for r in records %}{{ r.id }}{% endfor %}', 'record')).toBe(false);
    expect(templateReads('{% for r in records %}{{ r.id }}{% endfor %}', 'records')).toBe(true);
    expect(templateReads('{{ record.id | nope }}', 'record')).toBe(false);
  });
});

describe('isStaticTemplate', () => {
  it('is true for text without outputs or tags', () => {
    expect(isStaticTemplate('#alerts')).toBe(true);
    expect(isStaticTemplate('{{ record.channel }}')).toBe(false);
    expect(isStaticTemplate('{% if x %}a{% endif %}')).toBe(false);
  });
});
