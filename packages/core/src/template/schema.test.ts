import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { templateSchema } from './schema.js';

describe('templateSchema', () => {
  it('accepts a template that compiles', () => {
    expect(v.parse(templateSchema(), 'Hi {{ record.name }}')).toBe('Hi {{ record.name }}');
  });

  it('names what is wrong', () => {
    expect(v.safeParse(templateSchema(), '').issues?.[0]?.message).toBe('must not be empty');
    expect(v.safeParse(templateSchema(), '{{ x | nope }}').issues?.[0]?.message).toMatch(
      /^undefined filter: nope/,
    );
    expect(v.safeParse(templateSchema(), 42).issues?.[0]?.message).toMatch(/Expected string/);
  });

  it('reports the issue at the field path', () => {
    const config = v.object({ subject: templateSchema({ escape: (x) => String(x) }) });
    const issue = v.safeParse(config, { subject: '{% if %}' }).issues?.[0];
    expect(issue && v.getDotPath(issue)).toBe('subject');
  });

  it('takes a check of its own instead of the default one', () => {
    const schema = templateSchema({
      problem: (source) => (source.includes('now') ? 'must not use now' : undefined),
    });
    expect(v.safeParse(schema, '{{ "now" | date: "%Y" }}').issues?.[0]?.message).toBe(
      'must not use now',
    );
    expect(v.safeParse(schema, '{{ x | nope }}').success).toBe(true);
  });
});
