import { describe, expect, it } from 'vitest';
import { closestMatch, describeValue, didYouMean, editDistance } from './suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions, ignoring case', () => {
    expect(editDistance('slak', 'slack')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ABC', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('nmae', 'name')).toBe(1);
  });
});

describe('closestMatch / didYouMean', () => {
  it('suggests a close candidate', () => {
    expect(closestMatch('slak', ['warehouse', 'slack'])).toBe('slack');
    expect(didYouMean('slak', ['slack'])).toBe(' (did you mean "slack"?)');
  });
  it('suggests nothing when no candidate is close or the word is exact', () => {
    expect(closestMatch('xyz', ['slack'])).toBeUndefined();
    expect(closestMatch('slack', ['slack'])).toBeUndefined();
    expect(didYouMean('zzzzzz', ['slack', 'warehouse'])).toBe('');
  });
  it('picks the closest of several candidates', () => {
    expect(closestMatch('warehous', ['warehouses', 'warehouse'])).toBe('warehouse');
  });
});

describe('describeValue', () => {
  it('names values without dumping them', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('null');
    expect(describeValue('abc')).toBe('"abc"');
    expect(describeValue('x'.repeat(100))).toBe(JSON.stringify(`${'x'.repeat(57)}...`));
    expect(describeValue(3)).toBe('3');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
  });
});
