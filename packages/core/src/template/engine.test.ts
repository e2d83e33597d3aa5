import { describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATE_LIMITS, createSandboxedLiquid } from './engine.js';

const render = (
  source: string,
  scope: object,
  options?: Parameters<typeof createSandboxedLiquid>[0],
) => createSandboxedLiquid(options).parseAndRenderSync(source, scope) as string;

describe('createSandboxedLiquid', () => {
  it('renders filters and is strict by default, lenient in if', () => {
    expect(render('{{ a | upcase }}-{{ n | plus: 1 }}', { a: 'x', n: 1 })).toBe('X-2');
    expect(() => render('{{ missing }}', {})).toThrow(/undefined variable: missing/);
    expect(render('{% if missing %}y{% else %}n{% endif %}', {})).toBe('n');
    expect(render('{{ missing | default: "-" }}', {}, { strictVariables: false })).toBe('-');
    expect(() => render('{% if missing %}y{% endif %}', {}, { lenientIf: false })).toThrow(
      /undefined variable: missing/,
    );
  });

  it('renders missing variables as empty when not strict', () => {
    expect(render('[{{ missing }}]', {}, { strictVariables: false })).toBe('[]');
  });

  it('never reads a file: include, render and layout find nothing, even by absolute path', () => {
    for (const source of [
      "{% include '/etc/passwd' %}",
      '{% include /etc/passwd %}',
      "{% render 'package.json' %}",
      "{% layout '/etc/hosts' %}x",
    ]) {
      expect(() => render(source, {})).toThrow(/ENOENT: Failed to lookup/);
    }
  });

  it('never takes a partial name from data', () => {
    // With dynamic partials `file` would be looked up as the variable's value.
    expect(() =>
      render('{% include file %}', { file: '/etc/passwd' }, { strictVariables: false }),
    ).toThrow(/Failed to lookup "file"/);
  });

  it('shows own properties only: no constructor, prototype or inherited methods', () => {
    const scope = { a: { b: 1 }, s: 'text', items: [1, 2] };
    const lax = { strictVariables: false };
    expect(
      render(
        '{{ a.constructor }}|{{ __proto__ }}|{{ a.__proto__ }}|{{ s.constructor.name }}|{{ a.toString }}|{{ items.size }}',
        scope,
        lax,
      ),
    ).toBe('|||||2');
    expect(render('{{ a.constructor.constructor }}', scope, lax)).toBe('');
    expect(() => render('{{ a.constructor }}', scope)).toThrow(/undefined variable: a.constructor/);
    expect(() => render('{{ a.hasOwnProperty }}', scope)).toThrow(
      /undefined variable: a.hasOwnProperty/,
    );
    expect(render('{% if a.constructor %}leak{% else %}none{% endif %}', scope)).toBe('none');
  });

  it('rejects unknown filters when parsing', () => {
    expect(() => createSandboxedLiquid().parse('{{ a | nosuchfilter }}')).toThrow(
      /undefined filter: nosuchfilter/,
    );
  });

  it('stops huge loops at the memory limit', () => {
    const bomb =
      '{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}';
    expect(() => render(bomb, {})).toThrow(/memory alloc limit exceeded/);
    const doubling =
      "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}";
    expect(() => render(doubling, {})).toThrow(/memory alloc limit exceeded/);
  });

  it('stops long renders at the render limit', () => {
    const busy = '{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}';
    expect(() => render(busy, {}, { limits: { renderLimit: 50 } })).toThrow(
      /render limit exceeded/,
    );
  });

  it('refuses sources over the parse limit', () => {
    expect(() =>
      createSandboxedLiquid().parse('x'.repeat(DEFAULT_TEMPLATE_LIMITS.parseLimit + 1)),
    ).toThrow(/parse length limit exceeded/);
    expect(() =>
      createSandboxedLiquid({ limits: { parseLimit: 10 } }).parse('{{ abcdefghij }}'),
    ).toThrow(/parse length limit exceeded/);
  });

  it('escapes outputs, not literal text', () => {
    const escape = (value: unknown) => String(value).replace(/</g, '&lt;');
    expect(render('<b>{{ v }}</b>', { v: '<i>' }, { escape })).toBe('<b>&lt;i></b>');
  });

  it('formats dates in UTC by default and in the given zone', () => {
    const scope = { at: '2026-11-24T23:30:00Z' };
    expect(render('{{ at | date: "%Y-%m-%d %H:%M" }}', scope)).toBe('2026-11-24 23:30');
    expect(render('{{ at | date: "%Y-%m-%d %H:%M" }}', scope, { timeZone: 'Europe/Berlin' })).toBe(
      '2026-11-25 00:30',
    );
    expect(render('{{ at | date: "%Y" }}', scope, { timeZone: 'local' })).toMatch(/^202[67]$/);
  });
});
