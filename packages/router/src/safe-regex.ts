/**
 * Regular expressions for the `matches` operator, restricted so that matching one record can
 * never take exponential time: no backreferences or lookaround (as in RE2), no quantified
 * group that itself contains a quantifier or an alternation (the shapes behind catastrophic
 * backtracking, e.g. `(a+)+` or `(a|a)*`), and a bound on the length of the tested text.
 *
 * @packageDocumentation
 */

/** Longest accepted pattern, in characters. */
export const MAX_PATTERN_LENGTH = 512;
/** Default longest text a pattern is tested against; longer text does not match. */
export const DEFAULT_MAX_INPUT_LENGTH = 4096;

/** A compiled, backtracking-safe pattern. */
export interface SafeRegex {
  readonly source: string;
  readonly flags: string;
  /** True when `text` matches; text longer than `maxInputLength` never matches. */
  test(text: string): boolean;
}

/**
 * Compiles a pattern after checking it is safe; throws an `Error` explaining what is not
 * allowed (the caller turns it into a `ConfigError` with the condition's path).
 *
 * @example
 * ```ts
 * compileSafeRegex('^utm_(source|medium)$', 'i'); // ok: the alternation is not quantified
 * compileSafeRegex('(a+)+$');                     // throws: nested quantifier
 * ```
 */
export function compileSafeRegex(
  pattern: string,
  flags = '',
  maxInputLength: number = DEFAULT_MAX_INPUT_LENGTH,
): SafeRegex {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new Error(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  if (!/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) {
    throw new Error(`flags ${JSON.stringify(flags)} are not allowed (use any of i, m, s, u once)`);
  }
  checkStructure(pattern);
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (error) {
    throw new Error(`invalid regular expression: ${(error as Error).message}`, { cause: error });
  }
  return {
    source: pattern,
    flags,
    test: (text) => text.length <= maxInputLength && regex.test(text),
  };
}

interface GroupState {
  quantified: boolean;
  alternation: boolean;
}

function checkStructure(pattern: string): void {
  const stack: GroupState[] = [{ quantified: false, alternation: false }];
  let i = 0;
  // What the previous atom was: a closed group (with its state) or a simple atom.
  let lastGroup: GroupState | undefined;
  let lastWasAtom = false;
  const fail = (why: string): never => {
    throw new Error(
      `${why} at position ${i} is not allowed (it can make matching exponentially slow)`,
    );
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') fail('a backreference');
      i += 2;
      lastGroup = undefined;
      lastWasAtom = true;
      continue;
    }
    if (c === '[') {
      i = skipClass(pattern, i);
      lastGroup = undefined;
      lastWasAtom = true;
      continue;
    }
    if (c === '(') {
      if (
        pattern.startsWith('(?=', i) ||
        pattern.startsWith('(?!', i) ||
        pattern.startsWith('(?<=', i) ||
        pattern.startsWith('(?<!', i)
      ) {
        fail('a lookaround');
      }
      stack.push({ quantified: false, alternation: false });
      i += 1;
      lastGroup = undefined;
      lastWasAtom = false;
      continue;
    }
    if (c === ')') {
      if (stack.length === 1) fail('an unbalanced ")"');
      lastGroup = stack.pop();
      lastWasAtom = true;
      i += 1;
      continue;
    }
    if (c === '|') {
      top.alternation = true;
      lastGroup = undefined;
      lastWasAtom = false;
      i += 1;
      continue;
    }
    const quantifier = readQuantifier(pattern, i);
    if (quantifier && lastWasAtom) {
      if (quantifier.repeats && lastGroup) {
        if (lastGroup.quantified)
          fail('a quantifier applied to a group that contains a quantifier');
        if (lastGroup.alternation) fail('a quantifier applied to a group with alternatives');
      }
      if (quantifier.repeats) top.quantified = true;
      if (lastGroup?.quantified) top.quantified = true;
      i += quantifier.length;
      lastGroup = undefined;
      lastWasAtom = false;
      continue;
    }
    if (lastGroup?.quantified) top.quantified = true;
    lastGroup = undefined;
    lastWasAtom = true;
    i += 1;
  }
  if (lastGroup?.quantified) stack[stack.length - 1]!.quantified = true;
  if (stack.length !== 1) throw new Error('unbalanced "(" in pattern');
}

function skipClass(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1;
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** A quantifier at `i`: its length (including a lazy `?`) and whether it allows > 1 repeat. */
function readQuantifier(
  pattern: string,
  i: number,
): { length: number; repeats: boolean } | undefined {
  const c = pattern[i];
  let length: number;
  let repeats = false;
  if (c === '*' || c === '+') {
    length = 1;
    repeats = true;
  } else if (c === '?') {
    length = 1;
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
    if (!m) return undefined;
    length = m[0].length;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    repeats = max > 1;
  } else {
    return undefined;
  }
  if (pattern[i + length] === '?') length += 1;
  return { length, repeats };
}
