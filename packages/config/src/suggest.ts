/**
 * "Did you mean" suggestions for misspelt names (destinations, keys, kinds).
 *
 * @packageDocumentation
 */

/**
 * Edit distance between two strings, case-insensitive: insertions, deletions, substitutions
 * and swaps of two neighbouring characters (the commonest typo, `nmae`) each count 1.
 *
 * @example
 * ```ts
 * editDistance('nmae', 'name'); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  if (s === t) return 0;
  const rows: number[][] = [Array.from({ length: t.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      row[j] = best;
    }
    rows.push(row);
  }
  return rows[s.length]![t.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be a likely typo
 * (at most a third of the word's length in edits, and at least one).
 *
 * @example
 * ```ts
 * closestMatch('slak', ['slack', 'warehouse']); // "slack"
 * closestMatch('xyz', ['slack']);               // undefined
 * ```
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(word, candidate);
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * ` (did you mean "x"?)` when a close candidate exists, otherwise an empty string.
 *
 * @example
 * ```ts
 * `unknown destination "slak"${didYouMean('slak', ['slack'])}`; // 'unknown destination "slak" (did you mean "slack"?)'
 * ```
 */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : ` (did you mean "${match}"?)`;
}

/**
 * Describes a value for an error message without dumping it whole: strings are quoted and
 * shortened, objects and arrays are named.
 *
 * @example
 * ```ts
 * describeValue('abc'); // '"abc"'
 * describeValue([1]);   // 'an array'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const short = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(short);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  return 'an object';
}
