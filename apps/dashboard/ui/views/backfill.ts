import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, describeFailure, usePoll, type Run } from '../api.js';
import { Section, StatusText, Table } from '../components.js';

interface Chunk {
  index: number;
  from: string;
  to: string;
  runId: string;
  action: 'enqueued' | 'retried' | 'kept';
  status: string;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

/** Backfill a date range in chunks (one run each), with each chunk's run status, polled. */
export function Backfill({ apiKey, name }: { apiKey: string; name: string }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [chunkDays, setChunkDays] = useState('1');
  const [chunks, setChunks] = useState<Chunk[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const { data: statuses } = usePoll(
    async () => {
      const runs = await Promise.all(
        (chunks ?? []).map((c) => api<Run>(apiKey, `/api/v1/runs/${encodeURIComponent(c.runId)}`)),
      );
      return new Map(runs.map((r) => [r.id, r.status]));
    },
    [apiKey, chunks],
    (data) => !data || [...data.values()].some((status) => !FINISHED.includes(status)),
  );
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const result = await api<{ backfillId: string; runs: Chunk[] }>(
        apiKey,
        `/api/v1/pipelines/${encodeURIComponent(name)}/runs`,
        { method: 'POST', body: { from, to, chunkDays: Number(chunkDays) } },
      );
      setChunks(result.runs);
    } catch (e) {
      setError(describeFailure(e, 'run'));
    }
  };
  const statusOf = (chunk: Chunk) => statuses?.get(chunk.runId) ?? chunk.status;
  const finished = (chunks ?? []).filter((c) => FINISHED.includes(statusOf(c))).length;
  const field = (label: string, id: string, input: Record<string, unknown>) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, ...input }));
  return h(
    Section,
    { title: 'Backfill' },
    h(
      'form',
      { class: 'filters', onSubmit: submit, 'aria-label': 'Backfill a date range' },
      field('From date', 'backfill-from', {
        type: 'date',
        required: true,
        value: from,
        onInput: (e: Event) => setFrom((e.target as HTMLInputElement).value),
      }),
      field('To date', 'backfill-to', {
        type: 'date',
        required: true,
        value: to,
        onInput: (e: Event) => setTo((e.target as HTMLInputElement).value),
      }),
      field('Days per chunk', 'backfill-chunk-days', {
        type: 'number',
        min: 1,
        max: 366,
        required: true,
        value: chunkDays,
        onInput: (e: Event) => setChunkDays((e.target as HTMLInputElement).value),
      }),
      h('div', { class: 'field submit' }, h('button', { type: 'submit' }, 'Start backfill')),
    ),
    error && h('p', { class: 'error', role: 'alert' }, error),
    chunks &&
      h(
        'div',
        null,
        h(
          'p',
          { role: 'status', id: 'backfill-progress' },
          `${finished} of ${chunks.length} chunks finished.`,
        ),
        h(
          Table,
          { label: 'Backfill chunks', head: ['Chunk', 'From', 'To', 'Action', 'Run', 'Status'] },
          chunks.map((c) =>
            h(
              'tr',
              { key: c.runId, 'data-chunk': c.index },
              h('td', null, String(c.index + 1)),
              h('td', null, c.from),
              h('td', null, c.to),
              h('td', { class: 'action' }, c.action),
              h('td', null, h('a', { href: `#/runs/${c.runId}` }, c.runId.slice(0, 8))),
              h('td', { class: 'chunk-status' }, h(StatusText, { status: statusOf(c) })),
            ),
          ),
        ),
      ),
  );
}
