// The Sluice dashboard: a small Preact app over the REST API (docs/api.md). The API key is kept in
// sessionStorage and sent as `Authorization: Bearer`, never in a URL; views are chosen by the
// location hash (#/, #/runs/<id>), which never carries the key.
import { h, render, type ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

const KEY_STORAGE = 'sluice.apiKey';
const POLL_MS = 2000;

interface Run {
  id: string;
  pipeline: string;
  trigger: string;
  status: string;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: Record<string, unknown>;
  error: Record<string, unknown> | null;
  attempt: number;
}
interface Pipeline {
  name: string;
  enabled: boolean;
  latestVersion: number;
}
interface Schedule {
  pipeline: string;
  schedule: Record<string, unknown>;
}
interface DeadLetter {
  id: string;
  pipeline: string;
}

/** An API failure, with the API's own message. */
class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(
  key: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  const body = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const message =
      (body as { error?: { message?: string } } | undefined)?.error?.message ?? response.statusText;
    throw new ApiFailure(response.status, message);
  }
  return body as T;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

/** Calls `load` now and every POLL_MS; returns its latest result or error. */
function usePoll<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const step = async () => {
      try {
        const data = await load();
        if (!stopped) setState({ data });
      } catch (error) {
        if (!stopped) setState((s) => ({ ...s, error: (error as Error).message }));
      }
      if (!stopped) timer = setTimeout(step, POLL_MS);
    };
    void step();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

const StatusText = ({ status }: { status: string }) =>
  h('span', { class: `status-${status}` }, status);

const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

function SignIn({ onKey }: { onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api(value, '/api/v1/pipelines');
      sessionStorage.setItem(KEY_STORAGE, value);
      onKey(value);
    } catch (e) {
      setError(
        e instanceof ApiFailure && e.status === 401
          ? 'That API key is not valid.'
          : (e as Error).message,
      );
    }
  };
  return h(
    'main',
    null,
    h('h2', null, 'Sign in'),
    h(
      'form',
      { onSubmit: submit },
      h('label', { for: 'api-key' }, 'API key'),
      h('input', {
        id: 'api-key',
        type: 'password',
        autocomplete: 'current-password',
        required: true,
        value,
        onInput: (e: Event) => setValue((e.target as HTMLInputElement).value),
      }),
      ' ',
      h('button', { type: 'submit' }, 'Sign in'),
    ),
    error && h('p', { class: 'error', role: 'alert' }, error),
    h(
      'p',
      { class: 'muted' },
      'The key stays in this tab (session storage) and is sent only as the Authorization header.',
    ),
  );
}

function Overview({ apiKey }: { apiKey: string }) {
  const [message, setMessage] = useState<string | undefined>();
  const { data, error, reload } = usePoll(async () => {
    const [pipelines, runs, schedules, deadLetters] = await Promise.all([
      api<{ items: Pipeline[] }>(apiKey, '/api/v1/pipelines'),
      api<{ items: Run[] }>(apiKey, '/api/v1/runs?limit=100'),
      api<{ items: Schedule[] }>(apiKey, '/api/v1/schedules'),
      api<{ items: DeadLetter[] }>(apiKey, '/api/v1/dead-letters?status=pending&limit=1000'),
    ]);
    return {
      pipelines: pipelines.items,
      runs: runs.items,
      schedules: schedules.items,
      deadLetters: deadLetters.items,
    };
  }, [apiKey]);
  const runNow = useCallback(
    async (pipeline: string) => {
      try {
        const run = await api<{ id: string }>(
          apiKey,
          `/api/v1/pipelines/${encodeURIComponent(pipeline)}/runs`,
          {
            method: 'POST',
            body: {},
          },
        );
        setMessage(`Run of ${pipeline} queued (${run.id}).`);
        reload();
      } catch (e) {
        setMessage(
          e instanceof ApiFailure && e.status === 403
            ? `This API key may not start runs (it needs the run scope).`
            : (e as Error).message,
        );
      }
    },
    [apiKey],
  );
  if (!data)
    return h(
      'main',
      null,
      error ? h('p', { class: 'error', role: 'alert' }, error) : h('p', null, 'Loading…'),
    );
  const lastRun = new Map<string, Run>();
  for (const run of data.runs) if (!lastRun.has(run.pipeline)) lastRun.set(run.pipeline, run);
  const schedule = new Map(data.schedules.map((s) => [s.pipeline, s.schedule]));
  const dead = new Map<string, number>();
  for (const d of data.deadLetters) dead.set(d.pipeline, (dead.get(d.pipeline) ?? 0) + 1);
  return h(
    'main',
    null,
    h('h2', null, 'Pipelines'),
    error && h('p', { class: 'error', role: 'alert' }, `Refresh failed: ${error}`),
    message && h('p', { role: 'status' }, message),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'aria-label': 'Pipelines' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Pipeline', 'Enabled', 'Last run', 'Schedule', 'Pending dead letters', 'Actions'].map(
              (t) => h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          data.pipelines.map((p) => {
            const run = lastRun.get(p.name);
            const s = schedule.get(p.name);
            return h(
              'tr',
              { key: p.name },
              h('th', { scope: 'row' }, p.name),
              h('td', null, p.enabled ? 'yes' : 'no'),
              h(
                'td',
                null,
                run
                  ? h(
                      'a',
                      { href: `#/runs/${run.id}` },
                      h(StatusText, { status: run.status }),
                      ' ',
                      time(run.queuedAt),
                    )
                  : h('span', { class: 'muted' }, 'never run'),
              ),
              h(
                'td',
                null,
                s && typeof s.cron === 'string'
                  ? `${s.cron} (${String(s.timezone ?? 'UTC')})`
                  : h('span', { class: 'muted' }, 'none'),
              ),
              h('td', null, String(dead.get(p.name) ?? 0)),
              h(
                'td',
                null,
                h(
                  'button',
                  {
                    type: 'button',
                    onClick: () => void runNow(p.name),
                    'aria-label': `Run ${p.name} now`,
                  },
                  'Run now',
                ),
              ),
            );
          }),
        ),
      ),
    ),
    h('h2', null, 'Recent runs'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'aria-label': 'Recent runs' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Run', 'Pipeline', 'Status', 'Trigger', 'Queued', 'Finished'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          data.runs
            .slice(0, 25)
            .map((run) =>
              h(
                'tr',
                { key: run.id },
                h('td', null, h('a', { href: `#/runs/${run.id}` }, run.id.slice(0, 8))),
                h('td', null, run.pipeline),
                h('td', null, h(StatusText, { status: run.status })),
                h('td', null, run.trigger),
                h('td', null, time(run.queuedAt)),
                h('td', null, time(run.finishedAt)),
              ),
            ),
        ),
      ),
    ),
  );
}

function RunView({ apiKey, id }: { apiKey: string; id: string }) {
  const [message, setMessage] = useState<string | undefined>();
  const { data, error, reload } = usePoll(async () => {
    const [run, logs] = await Promise.all([
      api<Run>(apiKey, `/api/v1/runs/${encodeURIComponent(id)}`),
      api<{ items: Record<string, unknown>[] }>(
        apiKey,
        `/api/v1/runs/${encodeURIComponent(id)}/logs?limit=1000`,
      ),
    ]);
    return { run, logs: logs.items };
  }, [apiKey, id]);
  const cancel = async () => {
    try {
      await api(apiKey, `/api/v1/runs/${encodeURIComponent(id)}/cancel`, {
        method: 'POST',
        body: {},
      });
      setMessage('Cancellation requested.');
      reload();
    } catch (e) {
      setMessage(
        e instanceof ApiFailure && e.status === 403
          ? 'This API key may not cancel runs (it needs the run scope).'
          : (e as Error).message,
      );
    }
  };
  if (!data)
    return h(
      'main',
      null,
      error ? h('p', { class: 'error', role: 'alert' }, error) : h('p', null, 'Loading…'),
    );
  const { run, logs } = data;
  const active = run.status === 'queued' || run.status === 'running';
  return h(
    'main',
    null,
    h('p', null, h('a', { href: '#/' }, '← Overview')),
    h('h2', null, `Run ${run.id}`),
    message && h('p', { role: 'status' }, message),
    h(
      'dl',
      null,
      h('dt', null, 'Pipeline'),
      h('dd', null, run.pipeline),
      h('dt', null, 'Status'),
      h('dd', { 'aria-live': 'polite' }, h(StatusText, { status: run.status })),
      h('dt', null, 'Trigger'),
      h('dd', null, run.trigger),
      h('dt', null, 'Attempt'),
      h('dd', null, String(run.attempt)),
      h('dt', null, 'Queued / started / finished'),
      h('dd', null, `${time(run.queuedAt)} / ${time(run.startedAt)} / ${time(run.finishedAt)}`),
    ),
    active &&
      h(
        'button',
        { type: 'button', class: 'secondary', onClick: () => void cancel() },
        'Cancel run',
      ),
    run.error && h(Section, { title: 'Error' }, h('pre', null, JSON.stringify(run.error, null, 2))),
    h(Section, { title: 'Counts' }, h('pre', null, JSON.stringify(run.counts, null, 2))),
    h(
      Section,
      { title: 'Log' },
      logs.length === 0
        ? h('p', { class: 'muted' }, 'No log lines.')
        : h(
            'pre',
            { 'aria-label': 'Run log', tabIndex: 0 },
            logs.map((line) => JSON.stringify(line)).join('\n'),
          ),
    ),
  );
}

const Section = ({ title, children }: { title: string; children?: ComponentChildren }) =>
  h('section', null, h('h3', null, title), children);

function App() {
  const [apiKey, setApiKey] = useState<string | null>(() => sessionStorage.getItem(KEY_STORAGE));
  const hash = useHash();
  const signOut = () => {
    sessionStorage.removeItem(KEY_STORAGE);
    setApiKey(null);
  };
  const run = /^#\/runs\/([0-9a-f-]{36})$/i.exec(hash);
  return h(
    'div',
    null,
    h(
      'header',
      null,
      h('h1', null, 'Sluice'),
      apiKey && h('nav', { 'aria-label': 'Main' }, h('a', { href: '#/' }, 'Overview')),
      apiKey && h('button', { type: 'button', class: 'secondary', onClick: signOut }, 'Sign out'),
    ),
    !apiKey
      ? h(SignIn, { onKey: setApiKey })
      : run
        ? h(RunView, { apiKey, id: run[1]! })
        : h(Overview, { apiKey }),
  );
}

render(h(App, null), document.getElementById('app')!);
