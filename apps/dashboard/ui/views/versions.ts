import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, describeFailure, formatTime } from '../api.js';
import { Section } from '../components.js';

interface Version {
  version: number;
  config: Record<string, unknown>;
  createdAt: string;
}

/** `value` as indented JSON with object keys sorted, so equal configs print the same lines. */
function canonicalLines(value: unknown): string[] {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(value), null, 2).split('\n');
}

/** A line diff (longest common subsequence): each line kept (' '), removed ('-') or added ('+'). */
export function diffLines(
  before: string[],
  after: string[],
): { op: ' ' | '-' | '+'; line: string }[] {
  const n = before.length;
  const m = after.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] =
        before[i] === after[j]
          ? lcs[i + 1]![j + 1]! + 1
          : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      out.push({ op: ' ', line: before[i]! });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! > lcs[i + 1]![j]!)) {
      out.push({ op: '+', line: after[j]! });
      j++;
    } else {
      out.push({ op: '-', line: before[i]! });
      i++;
    }
  }
  return out;
}

/** A pipeline's versions, newest first, and the diff between any two of them. */
export function Versions({
  apiKey,
  name,
  latest,
}: {
  apiKey: string;
  name: string;
  latest: number;
}) {
  const [versions, setVersions] = useState<Version[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [from, setFrom] = useState<number | undefined>();
  const [to, setTo] = useState<number | undefined>();
  useEffect(() => {
    api<{ items: Version[] }>(
      apiKey,
      `/api/v1/pipelines/${encodeURIComponent(name)}/versions`,
    ).then(
      (page) => {
        setVersions(page.items);
        setTo(page.items[0]?.version);
        setFrom(page.items[1]?.version ?? page.items[0]?.version);
      },
      (e: unknown) => setError(describeFailure(e)),
    );
  }, [apiKey, name, latest]);
  if (error)
    return h(Section, { title: 'Versions' }, h('p', { class: 'error', role: 'alert' }, error));
  if (!versions) return h(Section, { title: 'Versions' }, h('p', null, 'Loading…'));
  const pick = (label: string, id: string, value: number | undefined, set: (v: number) => void) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      h(
        'select',
        { id, value, onChange: (e: Event) => set(Number((e.target as HTMLSelectElement).value)) },
        versions.map((v) =>
          h(
            'option',
            { value: v.version, key: v.version },
            `v${v.version} · ${formatTime(v.createdAt)}`,
          ),
        ),
      ),
    );
  const a = versions.find((v) => v.version === from);
  const b = versions.find((v) => v.version === to);
  const diff = a && b ? diffLines(canonicalLines(a.config), canonicalLines(b.config)) : [];
  const changed = diff.filter((d) => d.op !== ' ').length;
  return h(
    Section,
    { title: 'Versions' },
    h(
      'form',
      {
        class: 'filters',
        'aria-label': 'Compare versions',
        onSubmit: (e: Event) => e.preventDefault(),
      },
      pick('From version', 'version-from', from, setFrom),
      pick('To version', 'version-to', to, setTo),
    ),
    h(
      'p',
      { role: 'status', id: 'version-summary' },
      changed === 0 ? 'No differences.' : `${changed} changed lines.`,
    ),
    changed > 0 &&
      h(
        'pre',
        { class: 'diff', tabIndex: 0, 'aria-label': `Differences from v${from} to v${to}` },
        diff.map((d, i) =>
          h(
            'span',
            { key: i, class: d.op === '+' ? 'add' : d.op === '-' ? 'del' : undefined },
            `${d.op} ${d.line}\n`,
          ),
        ),
      ),
  );
}
