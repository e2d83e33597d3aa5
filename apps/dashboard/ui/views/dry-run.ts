import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, describeFailure } from '../api.js';
import { Section, Table } from '../components.js';

interface DryRunResult {
  records: {
    index: number;
    routes: { route: string; to: string[]; output: Record<string, unknown>[] }[];
    errors: { route: string; message: string; onError: string }[];
    defaulted: boolean;
    unmatched: boolean;
  }[];
  destinations: Record<string, Record<string, unknown>[]>;
  totals: {
    records: number;
    matched: number;
    defaulted: number;
    unmatched: number;
    errors: number;
  };
}

/**
 * Records pasted as one JSON array, one JSON object, or NDJSON (one object a line); a problem
 * names the line it is on.
 */
export function parseRecords(text: string): Record<string, unknown>[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('Paste at least one record.');
  const isObject = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value);
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`The records are not a valid JSON array: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const list = parsed as unknown[];
    const bad = list.findIndex((item) => !isObject(item));
    if (bad !== -1) throw new Error(`Record ${bad + 1} of the array is not a JSON object.`);
    return list as Record<string, unknown>[];
  }
  const records: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new Error(`Line ${i + 1} is not valid JSON: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!isObject(parsed)) throw new Error(`Line ${i + 1} is not a JSON object.`);
    records.push(parsed);
  });
  return records;
}

/** Paste records, pick a pipeline, see what each route and destination would get. Writes nothing. */
export function DryRun({ apiKey }: { apiKey: string }) {
  const [pipelines, setPipelines] = useState<string[]>([]);
  const [pipeline, setPipeline] = useState('');
  const [text, setText] = useState('');
  const [result, setResult] = useState<DryRunResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api<{ items: { name: string }[] }>(apiKey, '/api/v1/pipelines').then(
      (page) => {
        setPipelines(page.items.map((p) => p.name));
        setPipeline((current) => current || (page.items[0]?.name ?? ''));
      },
      (e: unknown) => setError(describeFailure(e)),
    );
  }, [apiKey]);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setResult(undefined);
    let records;
    try {
      records = parseRecords(text);
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    setBusy(true);
    try {
      setResult(
        await api<DryRunResult>(apiKey, '/api/v1/dry-run', {
          method: 'POST',
          body: { pipeline, records },
        }),
      );
    } catch (e) {
      setError(describeFailure(e, 'read'));
    } finally {
      setBusy(false);
    }
  };
  const perRoute = new Map<string, { to: string[]; records: number; outputs: number }>();
  for (const record of result?.records ?? [])
    for (const match of record.routes) {
      const entry = perRoute.get(match.route) ?? { to: match.to, records: 0, outputs: 0 };
      entry.records++;
      entry.outputs += match.output.length;
      perRoute.set(match.route, entry);
    }
  return h(
    'main',
    { id: 'main' },
    h('h1', null, 'Dry run'),
    h(
      'p',
      { class: 'muted' },
      "Evaluates records against a pipeline's current routes and shows what each route and destination would get. Nothing is written.",
    ),
    h(
      'form',
      { onSubmit: submit, class: 'stack' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'dry-run-pipeline' }, 'Pipeline'),
        h(
          'select',
          {
            id: 'dry-run-pipeline',
            value: pipeline,
            required: true,
            onChange: (e: Event) => setPipeline((e.target as HTMLSelectElement).value),
          },
          pipelines.map((name) => h('option', { value: name, key: name }, name)),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h(
          'label',
          { for: 'dry-run-records' },
          'Records (a JSON array, or NDJSON: one object a line)',
        ),
        h('textarea', {
          id: 'dry-run-records',
          rows: 8,
          spellcheck: false,
          value: text,
          onInput: (e: Event) => setText((e.target as HTMLTextAreaElement).value),
        }),
      ),
      h('div', null, h('button', { type: 'submit', disabled: busy || !pipeline }, 'Run dry run')),
    ),
    error && h('p', { class: 'error', role: 'alert' }, error),
    result &&
      h(
        'div',
        { id: 'dry-run-result', role: 'region', 'aria-label': 'Dry run result' },
        h(
          'p',
          { role: 'status' },
          `${result.totals.records} records: ${result.totals.matched} matched, ${result.totals.defaulted} to the default route, ${result.totals.unmatched} unmatched, ${result.totals.errors} with errors.`,
        ),
        h(
          Section,
          { title: 'Per route' },
          h(
            Table,
            { label: 'Per route', head: ['Route', 'Records matched', 'Output records', 'To'] },
            [...perRoute].map(([route, entry]) =>
              h(
                'tr',
                { key: route, 'data-route': route },
                h('th', { scope: 'row' }, route),
                h('td', { class: 'matched' }, String(entry.records)),
                h('td', null, String(entry.outputs)),
                h('td', null, entry.to.join(', ')),
              ),
            ),
          ),
        ),
        h(
          Section,
          { title: 'Per destination' },
          Object.entries(result.destinations).map(([destination, records]) =>
            h(
              'section',
              { key: destination, 'data-destination': destination, 'aria-label': destination },
              h(
                'h3',
                null,
                `${destination}: ${records.length} record${records.length === 1 ? '' : 's'}`,
              ),
              records.length > 0 &&
                h(
                  'pre',
                  { tabIndex: 0, 'aria-label': `Records for ${destination}` },
                  records.map((r) => JSON.stringify(r)).join('\n'),
                ),
            ),
          ),
        ),
        result.records.some((r) => r.errors.length > 0 || r.unmatched) &&
          h(
            Section,
            { title: 'Records that failed or matched nothing' },
            h(
              'ul',
              null,
              result.records
                .filter((r) => r.errors.length > 0 || r.unmatched)
                .map((r) =>
                  h(
                    'li',
                    { key: r.index },
                    `Record ${r.index + 1}: `,
                    r.unmatched
                      ? 'matched no route'
                      : r.errors.map((e) => `${e.route}: ${e.message} (${e.onError})`).join('; '),
                  ),
                ),
            ),
          ),
      ),
  );
}
