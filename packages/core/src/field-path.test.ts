import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import * as fieldPaths from './field-path.js';

const {
  FieldPathSyntaxError,
  compileFieldPath,
  deleteField,
  dotPathReplacement,
  fieldPathProblem,
  fieldPathSchema,
  formatFieldPath,
} = fieldPaths;
const { parseDotPath, parseFieldPath, readEmbeddedFieldPath, readField, setField } = fieldPaths;
type FieldPathSyntaxError = fieldPaths.FieldPathSyntaxError;
import type { JsonValue } from './record.js';

function syntaxError(
  text: string,
  options?: Parameters<typeof parseFieldPath>[1],
): FieldPathSyntaxError {
  try {
    parseFieldPath(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(FieldPathSyntaxError);
    return error as FieldPathSyntaxError;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe('parseFieldPath', () => {
  it.each([
    ['sessions', ['sessions']],
    ['utm.source', ['utm.source']],
    ['a b', ['a b']],
    ['$.utm.source', ['utm', 'source']],
    ['$.items[0].sku', ['items', 0, 'sku']],
    ['$.items[-1]', ['items', -1]],
    ["$['x y']", ['x y']],
    ['$["a.b"]["c\'d"]', ['a.b', "c'd"]],
    ["$['it\\'s']", ["it's"]],
    ['$["\\u00e9\\n\\t\\/\\\\"]', ['é\n\t/\\']],
    ['$["\\ud83d\\ude00"]', ['😀']],
    ['$.été.😀x1', ['été', '😀x1']],
    ['$ .a [ 0 ]', ['a', 0]],
    ['$[0]', [0]],
    ['$._a1', ['_a1']],
  ] as const)('%s', (text, keys) => {
    expect(parseFieldPath(text)).toEqual(keys);
  });

  it.each([
    ['$.items[*]', 8, /wildcard selects several values/],
    ['$..a', 2, /descendants/],
    ['$.a[?@.b]', 4, /filter/],
    ['$.a[0,1]', 5, /list of selectors/],
    ['$.a[0:2]', 5, /slice/],
    ['$.a ', 3, /blank space after the last segment/],
    ['$.1a', 2, /member name/],
    ['$[01]', 2, /leading zeros/],
    ['$[-0]', 2, /leading zeros/],
    ['$[9007199254740992]', 2, /beyond/],
    ["$['a]", 5, /unterminated/],
    ['$["a\\\'"]', 4, /invalid escape/],
    ['$["\\ud83d"]', 9, /high surrogate/],
    ['$["\\ude00"]', 3, /low surrogate/],
    ['$["\u0001"]', 3, /control character/],
    ['$x', 1, /expected "\." or "\["/],
    ['$', 1, /whole record/],
    ['', 0, /empty/],
  ] as const)('refuses %s at position %i', (text, position, reason) => {
    const error = syntaxError(text);
    expect(error.position).toBe(position);
    expect(error.message).toMatch(reason);
    expect(error.message).toContain(JSON.stringify(text));
  });

  it('accepts the whole record only when asked', () => {
    expect(parseFieldPath('$', { root: true })).toEqual([]);
  });

  it('accepts an index at the I-JSON limits', () => {
    expect(parseFieldPath('$[9007199254740991]')).toEqual([2 ** 53 - 1]);
    expect(parseFieldPath('$[-9007199254740991]')).toEqual([-(2 ** 53 - 1)]);
  });

  it('reads the deprecated dot paths only when asked', () => {
    const dots = { dotPaths: true };
    expect(parseFieldPath('items.0.price', dots)).toEqual(['items', 0, 'price']);
    expect(parseFieldPath('$.items.0.price', dots)).toEqual(['items', 0, 'price']);
    expect(parseFieldPath('totals.revenue', dots)).toEqual(['totals', 'revenue']);
    expect(parseFieldPath('$.a-b', dots)).toEqual(['a-b']);
    expect(parseFieldPath('sessions', dots)).toEqual(['sessions']);
    expect(parseFieldPath('$.a.b', dots)).toEqual(['a', 'b']);
    expect(parseFieldPath("$['utm.source']", dots)).toEqual(['utm.source']);
    expect(syntaxError('a..b', dots).message).toMatch(/dot path/);
    expect(parseFieldPath('items.0.price')).toEqual(['items.0.price']);
    expect(syntaxError('$.items.0.price').position).toBe(8);
  });
});

describe('readEmbeddedFieldPath', () => {
  it('reads a singular query inside a larger text and says where it ends', () => {
    expect(readEmbeddedFieldPath('round($.a[0] * 2)', 6)).toEqual({ path: ['a', 0], end: 12 });
    expect(readEmbeddedFieldPath("$['x y'].b+1", 0)).toEqual({ path: ['x y', 'b'], end: 10 });
    expect(readEmbeddedFieldPath('1 + $.a ', 4)).toEqual({ path: ['a'], end: 7 });
  });

  it('refuses what is not a singular query, with positions relative to the "$"', () => {
    const error = (() => {
      try {
        readEmbeddedFieldPath('2 * $.a[*]', 4);
      } catch (e) {
        return e as FieldPathSyntaxError;
      }
      throw new Error('read');
    })();
    expect(error).toBeInstanceOf(FieldPathSyntaxError);
    expect(error).toMatchObject({
      text: '$.a[*]',
      position: 4,
      reason: 'a wildcard selects several values',
    });
    expect(() => readEmbeddedFieldPath('$.a[', 0)).toThrow(/unclosed "\["/);
    expect(() => readEmbeddedFieldPath('$ + 1', 0)).toThrow(/whole record/);
    expect(() => readEmbeddedFieldPath('a', 0)).toThrow(/expected "\$"/);
  });
});

describe('parseDotPath', () => {
  it('reads names and whole numbers joined by dots, numbers as indexes', () => {
    expect(parseDotPath('customer.id')).toEqual(['customer', 'id']);
    expect(parseDotPath('tags.1')).toEqual(['tags', 1]);
    expect(parseDotPath('$x.a-b')).toEqual(['$x', 'a-b']);
    expect(parseDotPath('tenant')).toEqual(['tenant']);
  });

  it('refuses anything else, naming the position of the segment', () => {
    for (const [text, position] of [
      ['a + 1', 0],
      ['a..b', 2],
      ['a.b c', 2],
      ['', 0],
      ['a.', 2],
    ] as const) {
      expect(() => parseDotPath(text)).toThrow(FieldPathSyntaxError);
      try {
        parseDotPath(text);
      } catch (error) {
        expect((error as FieldPathSyntaxError).position).toBe(position);
      }
    }
  });
});

describe('dotPathReplacement', () => {
  it('spells a deprecated dot path in the field-path syntax', () => {
    expect(dotPathReplacement('items.0.price')).toBe('$.items[0].price');
    expect(dotPathReplacement('$.items.0.price')).toBe('$.items[0].price');
    expect(dotPathReplacement('a-b.c')).toBe('$["a-b"].c');
    expect(dotPathReplacement('sessions')).toBeUndefined();
    expect(dotPathReplacement('$.a.b')).toBeUndefined();
    expect(dotPathReplacement('$.a[0]')).toBeUndefined();
  });
});

describe('compileFieldPath', () => {
  it('names the config field and the position', () => {
    const error = (() => {
      try {
        compileFieldPath('$.items[*].sku', 'routes[0].transform[1].fields[0]');
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('compiled');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([
      {
        path: 'routes[0].transform[1].fields[0]',
        message: expect.stringMatching(
          /^"\$\.items\[\*\]\.sku" is not a field path: a wildcard selects several values at position 8/,
        ),
      },
    ]);
    expect(error.details).toEqual({ position: 8 });
    expect(() => compileFieldPath(3, 'field')).toThrow(ConfigError);
    expect(compileFieldPath('$.a', 'field')).toEqual(['a']);
  });
});

describe('fieldPathSchema and fieldPathProblem', () => {
  it('validate a field path in a plugin config', () => {
    const schema = v.object({ from: fieldPathSchema({ root: true }) });
    expect(v.parse(schema, { from: '$' })).toEqual({ from: '$' });
    const result = v.safeParse(schema, { from: '$..a' });
    expect(result.success).toBe(false);
    expect(result.issues?.[0]?.message).toMatch(/descendants/);
    expect(v.safeParse(schema, { from: 4 }).issues?.[0]?.message).toMatch(
      /field name or a singular JSONPath/,
    );
    expect(fieldPathProblem('$.a')).toBeUndefined();
    expect(fieldPathProblem(null)).toMatch(/field name/);
  });
});

describe('readField / setField / deleteField', () => {
  it('readField follows own properties only', () => {
    expect(readField({ a: 1 } as JsonValue, ['constructor'])).toBeUndefined();
    expect(readField({ a: [1] }, ['a', 'length'])).toBeUndefined();
    expect(readField({ a: [1] }, ['a', 5])).toBeUndefined();
    expect(readField({ a: { 0: 'x' } }, ['a', 0])).toBeUndefined();
    expect(readField({ a: [1, 2] }, ['a', -1])).toBe(2);
    expect(readField({ a: null }, ['a'])).toBeNull();
    expect(readField({ a: 1 }, [])).toEqual({ a: 1 });
  });

  it('setField copies along the path and never touches a prototype', () => {
    const input = { a: { b: 1 }, keep: { x: 1 } };
    const out = setField(input, ['a', 'c'], 2);
    expect(out).toEqual({ a: { b: 1, c: 2 }, keep: { x: 1 } });
    expect(input).toEqual({ a: { b: 1 }, keep: { x: 1 } });
    expect(out.keep).toBe(input.keep);
    expect(setField({}, ['list', 0], 'x')).toEqual({ list: ['x'] });
    const proto = setField({}, ['__proto__', 'polluted'], true);
    expect(Object.hasOwn(proto, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => setField({ a: 1 }, ['a', 'b'], 1)).toThrow(
      'cannot set $.a.b: $.a is not an object',
    );
    expect(() => setField({ a: [] }, ['a', 'b'], 1)).toThrow('$.a is an array');
    expect(() => setField({ a: [] }, ['a', 3], 1)).toThrow('index 3 is out of range');
  });

  it('deleteField removes a field and keeps the rest', () => {
    const input = { a: { b: 1, c: 2 }, list: [1, 2, 3] };
    expect(deleteField(input, ['a', 'b'])).toEqual({ a: { c: 2 }, list: [1, 2, 3] });
    expect(deleteField(input, ['list', -1])).toEqual({ a: { b: 1, c: 2 }, list: [1, 2] });
    expect(deleteField(input, ['nope', 'x'])).toBe(input);
    expect(input).toEqual({ a: { b: 1, c: 2 }, list: [1, 2, 3] });
  });
});

describe('formatFieldPath', () => {
  it('spells paths so that parseFieldPath reads them back', () => {
    const paths = [['items', 0, 'sku'], ['unit price'], ['a.b', -2], ["it's", 'x"y'], []] as const;
    for (const path of paths) {
      const text = formatFieldPath(path);
      expect(parseFieldPath(text, { root: true })).toEqual(path);
    }
    expect(formatFieldPath(['items', 0, 'unit price'])).toBe('$.items[0]["unit price"]');
  });
});
