import { describe, expect, it } from 'vitest';
import { compileExpression, ExpressionSyntaxError } from './expression.js';

describe('compileExpression', () => {
  const r = { a: 10, b: 4, neg: -2.5, s: '12', nested: { x: 3 }, list: [5, 6], zero: 0, nil: null };
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['a - b', 6],
    ['a / b', 2.5],
    ['a % b', 2],
    ['-a + +b', -6],
    ['--a', 10],
    ['$.nested.x * 2', 6],
    ["$['nested']['x'] + $.list[1]", 9],
    ['abs(neg)', 2.5],
    ['round(neg)', -3],
    ['round(2.345, 2)', 2.35],
    ['floor(neg)', -3],
    ['ceil(neg)', -2],
    ['min(a, b, 7)', 4],
    ['max(a, b, 7)', 10],
    ['coalesce(missing, nil, b)', 4],
    ['round((a - b) / b * 100, 1)', 150],
    ['1.5e2 + .5', 150.5],
    ['a / zero', null],
    ['a % zero', null],
    ['missing + 1', null],
    ['nil * 2', null],
    ['null', null],
    ['min(missing, 1)', null],
    ['abs(missing)', null],
  ])('%s = %j', (source, expected) => {
    expect(compileExpression(source)(r)).toBe(expected);
  });

  it('fails a record whose field is not a number, naming the field', () => {
    expect(() => compileExpression('s + 1')(r)).toThrow(/field \$\.s is not a number \(got "12"\)/);
  });

  it.each([
    ['1 +', /unexpected end of expression at position 3/],
    ['(1 + 2', /expected "\)" at position 6/],
    ['foo(1)', /unknown function "foo" .* at position 0/],
    ['round()', /round\(\) takes 1 to 2 argument\(s\), got 0/],
    ['abs(1, 2)', /abs\(\) takes 1 argument\(s\), got 2/],
    ['1 2', /unexpected "2" at position 2/],
    ['$.a[*]', /invalid field reference/],
    ['$.a[', /unclosed "\["/],
    ["constructor('x')", /unknown function "constructor"/],
    ['a ; b', /unexpected ";"/],
    ['"str"', /unexpected/],
    ['('.repeat(100) + '1' + ')'.repeat(100), /nested too deeply/],
  ])('rejects %s', (source, message) => {
    expect(() => compileExpression(source)).toThrow(ExpressionSyntaxError);
    expect(() => compileExpression(source)).toThrow(message);
  });

  it('reads only own fields (no prototype members)', () => {
    expect(compileExpression('coalesce(constructor, __proto__, toString, 1)')({})).toBe(1);
  });
});
