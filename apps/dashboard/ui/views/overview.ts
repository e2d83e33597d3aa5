import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, can, describeFailure, formatTime, usePoll, type KeyInfo, type Run } from '../api.js';
import { Loading, Message, Section, StatusText, Table } from '../components.js';

interface Pipeline {
  name: string;
  enabled: boolean;
  latestVersion: number;
}
interface Schedule {
  pipeline: string;
  schedule: { cron?: string; enabled?: boolean };
  timezone: string;
  nextFireAt: string | null;
}
interface Activity {
  pipeline: string;
  runs: number;
  counts: { read: number; delivered: number; deadLettered: number };
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Pipelines (last run, next cron fire, records in/out of the runs finished in the last 24 hours,
 * pending dead letters) and recent runs, polled.
 */
export function Overview({ apiKey, keyInfo }: { apiKey: string; keyInfo: KeyInfo }) {
  const [message, setMessage] = useState<{ text: string; error?: boolean }>();
  const { data, error, reload } = usePoll(async () => {
    const [pipelines, runs, schedules, deadLetters, activity] = await Promise.all([
      api<{ items: Pipeline[] }>(apiKey, '/api/v1/pipelines'),
      api<Page<Run>>(apiKey, '/api/v1/runs?limit=100'),
      api<{ items: Schedule[] }>(apiKey, '/api/v1/schedules'),
      api<Page<{ pipeline: string }>>(apiKey, '/api/v1/dead-letters?status=pending&limit=1000'),
      api<{ items: Activity[] }>(apiKey, '/api/v1/activity?hours=24'),
    ]);
    return { pipelines, runs, schedules, deadLetters, activity };
  }, [apiKey]);
  const runNow = async (pipeline: string) => {
    try {
      const run = await api<{ runId: string }>(
        apiKey,
        `/api/v1/pipelines/${encodeURIComponent(pipeline)}/runs`,
        { method: 'POST', body: {} },
      );
      setMessage({ text: `Run of ${pipeline} queued (${run.runId}).` });
      reload();
    } catch (e) {
      setMessage({ text: describeFailure(e, 'run'), error: true });
    }
  };
  if (!data) return h(Loading, { error });
  const lastRun = new Map<string, Run>();
  for (const run of data.runs.items) if (!lastRun.has(run.pipeline)) lastRun.set(run.pipeline, run);
  const schedules = new Map(data.schedules.items.map((s) => [s.pipeline, s]));
  const dead = new Map<string, number>();
  for (const d of data.deadLetters.items) dead.set(d.pipeline, (dead.get(d.pipeline) ?? 0) + 1);
  const more = data.deadLetters.nextCursor ? '+' : '';
  const activity = new Map(data.activity.items.map((a) => [a.pipeline, a]));
  return h(
    'main',
    { id: 'main' },
    h('h1', null, 'Overview'),
    error && h('p', { class: 'error', role: 'alert' }, `Refresh failed: ${error}`),
    h(Message, { text: message?.text, error: message?.error }),
    h(
      Section,
      { title: 'Pipelines' },
      h(
        Table,
        {
          label: 'Pipelines',
          head: [
            'Pipeline',
            'Enabled',
            'Last run',
            'Next scheduled run',
            'Records in (24\u00a0h)',
            'Records out (24\u00a0h)',
            'Pending dead letters',
            ...(can(keyInfo, 'run') ? ['Actions'] : []),
          ],
        },
        data.pipelines.items.map((p) => {
          const run = lastRun.get(p.name);
          const s = schedules.get(p.name);
          const deadCount = dead.get(p.name) ?? 0;
          const recent = activity.get(p.name);
          const runsTitle = `${recent?.runs ?? 0} finished run(s) in the last 24 hours`;
          return h(
            'tr',
            { key: p.name, 'data-pipeline': p.name },
            h(
              'th',
              { scope: 'row' },
              h('a', { href: `#/pipelines/${encodeURIComponent(p.name)}` }, p.name),
            ),
            h('td', null, p.enabled ? 'yes' : 'no'),
            h(
              'td',
              { class: 'last-run' },
              run
                ? h(
                    'a',
                    { href: `#/runs/${run.id}` },
                    h(StatusText, { status: run.status }),
                    ' ',
                    formatTime(run.queuedAt),
                  )
                : h('span', { class: 'muted' }, 'never run'),
            ),
            h(
              'td',
              { class: 'next-fire' },
              s
                ? h(
                    'span',
                    { title: `cron ${s.schedule.cron ?? ''} (${s.timezone})` },
                    s.nextFireAt ? formatTime(s.nextFireAt, s.timezone) : 'schedule off',
                    h('br', null),
                    h('span', { class: 'muted' }, `${s.schedule.cron ?? ''} · ${s.timezone}`),
                  )
                : h('span', { class: 'muted' }, 'no schedule'),
            ),
            h(
              'td',
              { class: 'records-in', title: runsTitle },
              (recent?.counts.read ?? 0).toLocaleString('en'),
            ),
            h(
              'td',
              { class: 'records-out', title: runsTitle },
              (recent?.counts.delivered ?? 0).toLocaleString('en'),
            ),
            h(
              'td',
              { class: 'dead-letters' },
              deadCount > 0
                ? h(
                    'a',
                    { href: `#/dead-letters?pipeline=${encodeURIComponent(p.name)}` },
                    `${deadCount}${more}`,
                  )
                : '0',
            ),
            can(keyInfo, 'run') &&
              h(
                'td',
                null,
                h(
                  'button',
                  {
                    type: 'button',
                    onClick: () => void runNow(p.name),
                    'aria-label': `Run now: ${p.name}`,
                    disabled: !p.enabled,
                  },
                  'Run now',
                ),
              ),
          );
        }),
      ),
    ),
    h(
      Section,
      { title: 'Recent runs' },
      h(
        Table,
        {
          label: 'Recent runs',
          head: ['Run', 'Pipeline', 'Status', 'Trigger', 'Queued', 'Finished'],
        },
        data.runs.items
          .slice(0, 25)
          .map((run) =>
            h(
              'tr',
              { key: run.id, 'data-run': run.id },
              h(
                'td',
                null,
                h(
                  'a',
                  { href: `#/runs/${run.id}`, 'aria-label': `Run ${run.id}` },
                  run.id.slice(0, 8),
                ),
              ),
              h('td', null, run.pipeline),
              h('td', null, h(StatusText, { status: run.status })),
              h('td', null, run.trigger),
              h('td', null, formatTime(run.queuedAt)),
              h('td', null, formatTime(run.finishedAt)),
            ),
          ),
      ),
    ),
  );
}
