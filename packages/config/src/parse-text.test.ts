import { describe, expect, it } from 'vitest';
import { parseConfigText } from './index.js';

describe('parseConfigText', () => {
  it('parses YAML (and JSON through YAML) and locates paths', () => {
    const parsed = parseConfigText('server:\n  port: 8080\nplugins:\n  - a\n');
    expect(parsed.problems).toEqual([]);
    expect(parsed.value).toEqual({ server: { port: 8080 }, plugins: ['a'] });
    expect(parsed.locate(['server', 'port'])).toEqual({ line: 2, column: 9 });
    expect(parsed.locate(['plugins', 0])).toEqual({ line: 4, column: 5 });
    // A missing key is located at its nearest parent.
    expect(parsed.locate(['server', 'host'])).toEqual({ line: 2, column: 3 });
    expect(parsed.locate([])).toBeUndefined();
    expect(parseConfigText('{"a": [1, 2]}').value).toEqual({ a: [1, 2] });
  });
  it('reads YAML 1.2 (no yes/no booleans) and merge keys', () => {
    const parsed = parseConfigText('a: yes\nbase: &b { k: 1 }\nc:\n  <<: *b\n  z: 2\n');
    expect(parsed.value).toEqual({ a: 'yes', base: { k: 1 }, c: { k: 1, z: 2 } });
  });
  it('reports YAML syntax errors with line and column', () => {
    const parsed = parseConfigText('a: 1\nb: [1, 2\nc: 3\n');
    expect(parsed.value).toBeUndefined();
    expect(parsed.problems.length).toBeGreaterThan(0);
    expect(parsed.problems[0]!.message).toMatch(/^invalid YAML at line \d+, column \d+: /);
  });
  it('reports duplicate keys', () => {
    const parsed = parseConfigText('a: 1\na: 2\n');
    expect(parsed.problems).toEqual([
      { path: [], message: 'invalid YAML at line 2, column 1: Map keys must be unique' },
    ]);
  });
  it('stops alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
      );
    const parsed = parseConfigText(lines.join('\n'));
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]!.message).toMatch(/^invalid YAML: .*alias/i);
  });
  it('parses strict JSON and reports errors with line and column', () => {
    expect(parseConfigText('{"a": 1}', 'json')).toMatchObject({ value: { a: 1 }, problems: [] });
    const parsed = parseConfigText('{\n  "a": 1,\n  "b": oops\n}', 'json');
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]!.message).toBe(
      "invalid JSON: line 3, column 8: Unexpected token 'o'",
    );
    expect(parseConfigText('{"a": 1,}', 'json').problems[0]!.message).toBe(
      'invalid JSON: line 1, column 9: Expected double-quoted property name',
    );
    expect(parsed.locate(['a'])).toBeUndefined();
  });
  it('reports JSON errors without a position too', () => {
    expect(parseConfigText('', 'json').problems[0]!.message).toBe(
      'invalid JSON: Unexpected end of JSON input',
    );
  });
});

describe('YAML syntax error flood', () => {
  it('reports the first errors and a summary instead of one issue per token', () => {
    const { problems } = parseConfigText(
      'server:\n  apiKeys:\n    - { name: a, key: ${env:X}, scopes: [admin] }\n    - { name: b, key: ${env:Y}, scopes: [read] }\n',
    );
    expect(problems.length).toBeLessThanOrEqual(4);
    expect(problems[0]!.message).toMatch(/^invalid YAML at line 3, column \d+/);
    expect(problems.at(-1)!.message).toMatch(/more YAML error\(s\) after these; fix the first one/);
  });
});
