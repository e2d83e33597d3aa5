import { Fragment, h } from 'preact';
import { useState } from 'preact/hooks';
import {
  api,
  can,
  describeFailure,
  formatTime,
  usePoll,
  type KeyInfo,
  type Run,
  type RunBreakdown,
} from '../api.js';
import { Loading, Message, Section, StatusText, Table } from '../components.js';

const ACTIVE = ['queued', 'running'];

/** One run: status, attempt, counts, error, the log (polled while the run is active), cancel. */
export function RunView({ apiKey, keyInfo, id }: { apiKey: string; keyInfo: KeyInfo; id: string }) {
  const [message, setMessage] = useState<{ text: string; error?: boolean }>();
  const { data, error, reload } = usePoll(
    async () => {
      const [run, logs] = await Promise.all([
        api<Run>(apiKey, `/api/v1/runs/${encodeURIComponent(id)}`),
        api<{ items: Record<string, unknown>[] }>(
          apiKey,
          `/api/v1/runs/${encodeURIComponent(id)}/logs?limit=1000`,
        ),
      ]);
      return { run, logs: logs.items };
    },
    [apiKey, id],
    // A finished run changes no more: stop polling once it is done.
    (data) => !data || ACTIVE.includes(data.run.status),
  );
  const cancel = async () => {
    try {
      await api(apiKey, `/api/v1/runs/${encodeURIComponent(id)}/cancel`, {
        method: 'POST',
        body: {},
      });
      setMessage({ text: 'Cancellation requested.' });
      reload();
    } catch (e) {
      setMessage({ text: describeFailure(e, 'run'), error: true });
    }
  };
  if (!data) return h(Loading, { error });
  const { run, logs } = data;
  const active = ACTIVE.includes(run.status);
  return h(
    'main',
    { id: 'main' },
    h('p', null, h('a', { href: '#/' }, '← Overview')),
    h('h1', null, `Run of ${run.pipeline}`),
    h('p', { class: 'muted mono' }, run.id),
    h(Message, { text: message?.text, error: message?.error }),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Status'),
      h('dd', { 'aria-live': 'polite', id: 'run-status' }, h(StatusText, { status: run.status })),
      h('dt', null, 'Pipeline'),
      h(
        'dd',
        null,
        h('a', { href: `#/pipelines/${encodeURIComponent(run.pipeline)}` }, run.pipeline),
      ),
      h('dt', null, 'Trigger'),
      h('dd', null, run.trigger),
      h('dt', null, 'Attempt'),
      h('dd', null, String(run.attempt)),
      h('dt', null, 'Queued'),
      h('dd', null, formatTime(run.queuedAt)),
      h('dt', null, 'Started'),
      h('dd', null, formatTime(run.startedAt)),
      h('dt', null, 'Finished'),
      h('dd', null, formatTime(run.finishedAt)),
    ),
    active &&
      can(keyInfo, 'run') &&
      h(
        'button',
        { type: 'button', class: 'secondary', onClick: () => void cancel() },
        'Cancel run',
      ),
    run.error && h(Section, { title: 'Error' }, h('pre', null, JSON.stringify(run.error, null, 2))),
    h(
      Section,
      { title: 'Counts' },
      h('pre', { id: 'run-counts' }, JSON.stringify(run.counts, null, 2)),
    ),
    run.breakdown && h(Breakdown, { breakdown: run.breakdown }),
    h(
      Section,
      { title: 'Log' },
      logs.length === 0
        ? h('p', { class: 'muted' }, 'No log lines yet.')
        : h(
            'pre',
            { 'aria-label': 'Run log', tabIndex: 0, id: 'run-log' },
            logs
              .map((line) => {
                const { at, level, message, fields } = line as {
                  at?: string;
                  level?: string;
                  message?: string;
                  fields?: Record<string, unknown> | null;
                };
                const extra =
                  fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
                return `${at ?? ''} ${level ?? ''} ${message ?? ''}${extra}`;
              })
              .join('\n'),
          ),
    ),
  );
}

/**
 * Checked and violated counts of the expectations declared on routes or on destinations (by the
 * route or destination, then the expectation's name); nothing when none declares any.
 */
function ExpectationTable({
  title,
  scope,
  counts,
}: {
  title: string;
  scope: 'Route' | 'Destination';
  counts: RunBreakdown['expectations'];
}) {
  const rows = Object.entries(counts ?? {}).flatMap(([owner, byName]) =>
    Object.entries(byName).map(([name, c]) => ({ owner, name, ...c })),
  );
  if (rows.length === 0) return null;
  const attribute = scope === 'Route' ? 'data-expectation' : 'data-destination-expectation';
  return h(
    Section,
    { title },
    h(
      Table,
      { label: title, head: [scope, 'Expectation', 'Checked', 'Violations'] },
      rows.map((e) =>
        h(
          'tr',
          { key: `${e.owner}/${e.name}`, [attribute]: `${e.owner}/${e.name}` },
          h('td', null, e.owner),
          h('th', { scope: 'row' }, e.name),
          h('td', { class: 'checked' }, String(e.checked)),
          h('td', { class: 'violations' }, String(e.violations)),
        ),
      ),
    ),
  );
}

/**
 * The run's counts per route, per destination and per expectation. Runs stored before the
 * breakdown was kept (and runs still running) have none, and show nothing here.
 */
function Breakdown({ breakdown }: { breakdown: RunBreakdown }) {
  return h(
    Fragment,
    null,
    h(
      Section,
      { title: 'Routes' },
      h(
        Table,
        { label: 'Routes', head: ['Route', 'Matched'] },
        Object.entries(breakdown.routes).map(([name, counts]) =>
          h(
            'tr',
            { key: name, 'data-route': name },
            h('th', { scope: 'row' }, name),
            h('td', { class: 'matched' }, String(counts.matched)),
          ),
        ),
      ),
    ),
    h(
      Section,
      { title: 'Destinations' },
      h(
        Table,
        { label: 'Destinations', head: ['Destination', 'Delivered', 'Failed', 'Dead-lettered'] },
        Object.entries(breakdown.destinations).map(([name, counts]) =>
          h(
            'tr',
            { key: name, 'data-destination': name },
            h('th', { scope: 'row' }, name),
            h('td', { class: 'delivered' }, String(counts.delivered)),
            h('td', { class: 'failed' }, String(counts.failed)),
            h('td', { class: 'dead-lettered' }, String(counts.deadLettered)),
          ),
        ),
      ),
    ),
    h(ExpectationTable, {
      title: 'Expectations',
      scope: 'Route',
      counts: breakdown.expectations,
    }),
    h(ExpectationTable, {
      title: 'Destination expectations',
      scope: 'Destination',
      counts: breakdown.destinationExpectations,
    }),
  );
}
