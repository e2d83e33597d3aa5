import { h } from 'preact';
import { useState } from 'preact/hooks';
import {
  api,
  can,
  describeFailure,
  formatTime,
  usePoll,
  type DeadLetter,
  type KeyInfo,
  type Page,
} from '../api.js';
import { Loading, Section, Table } from '../components.js';

const STATUSES = ['pending', 'replayed', 'discarded'] as const;

interface Filters {
  pipeline: string;
  destination: string;
  status: string;
}

/** The filters as they appear in the location hash, so a filtered list can be linked to. */
function setHashFilters(filters: Filters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
  const text = query.toString();
  location.hash = `#/dead-letters${text ? `?${text}` : ''}`;
}

/** Dead letters: filter, inspect the record and error, replay one / selected / all matching, discard. */
export function DeadLetters({
  apiKey,
  keyInfo,
  query,
}: {
  apiKey: string;
  keyInfo: KeyInfo;
  query: URLSearchParams;
}) {
  const filters: Filters = {
    pipeline: query.get('pipeline') ?? '',
    destination: query.get('destination') ?? '',
    status: query.get('status') ?? 'pending',
  };
  const [message, setMessage] = useState<{ text: string; error?: boolean; runs?: string[] }>();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState<string | undefined>();
  const { data, error, reload } = usePoll(async () => {
    const search = new URLSearchParams({ limit: '200' });
    for (const [name, value] of Object.entries(filters)) if (value) search.set(name, value);
    const [letters, pipelines, destinations] = await Promise.all([
      api<Page<DeadLetter>>(apiKey, `/api/v1/dead-letters?${search}`),
      api<{ items: { name: string }[] }>(apiKey, '/api/v1/pipelines'),
      api<{ items: { name: string }[] }>(apiKey, '/api/v1/destinations'),
    ]);
    return { letters, pipelines: pipelines.items, destinations: destinations.items };
  }, [apiKey, filters.pipeline, filters.destination, filters.status]);

  const act = async (
    what: string,
    call: () => Promise<{ runs?: { runId: string }[] } | unknown>,
  ) => {
    try {
      const result = (await call()) as { runs?: { runId: string }[] } | undefined;
      const runs = result?.runs?.map((r) => r.runId) ?? [];
      setMessage({ text: what, runs });
      setSelected(new Set());
      reload();
    } catch (e) {
      setMessage({ text: describeFailure(e, 'run'), error: true });
    }
  };
  const replay = (ids: string[]) =>
    act(`Replay of ${ids.length} dead letter${ids.length === 1 ? '' : 's'} queued.`, () =>
      ids.length === 1
        ? api(apiKey, `/api/v1/dead-letters/${encodeURIComponent(ids[0]!)}/replay`, {
            method: 'POST',
            body: {},
          })
        : api(apiKey, '/api/v1/dead-letters/replay', { method: 'POST', body: { ids } }),
    );
  const replayMatching = () =>
    act('Replay of every matching pending dead letter queued.', () =>
      api(apiKey, '/api/v1/dead-letters/replay', {
        method: 'POST',
        body: {
          ...(filters.pipeline ? { pipeline: filters.pipeline } : {}),
          ...(filters.destination ? { destination: filters.destination } : {}),
        },
      }),
    );
  const discard = (id: string) =>
    act('Dead letter discarded.', () =>
      api(apiKey, `/api/v1/dead-letters/${encodeURIComponent(id)}/discard`, {
        method: 'POST',
        body: {},
      }),
    );

  if (!data) return h(Loading, { error });
  const writable = can(keyInfo, 'run');
  const pending = data.letters.items.filter((l) => l.status === 'pending');
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const select = (label: string, name: keyof Filters, options: string[], any?: string) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: `filter-${name}` }, label),
      h(
        'select',
        {
          id: `filter-${name}`,
          value: filters[name],
          onChange: (e: Event) =>
            setHashFilters({ ...filters, [name]: (e.target as HTMLSelectElement).value }),
        },
        any !== undefined && h('option', { value: '' }, any),
        options.map((o) => h('option', { value: o, key: o }, o)),
      ),
    );
  return h(
    'main',
    { id: 'main' },
    h('h1', null, 'Dead letters'),
    error && h('p', { class: 'error', role: 'alert' }, `Refresh failed: ${error}`),
    message &&
      h(
        'p',
        { class: message.error ? 'error' : 'notice', role: message.error ? 'alert' : 'status' },
        message.text,
        (message.runs ?? []).map((id) =>
          h(
            'span',
            { key: id },
            ' ',
            h('a', { href: `#/runs/${id}` }, `Open replay run ${id.slice(0, 8)}`),
          ),
        ),
      ),
    h(
      'form',
      {
        class: 'filters',
        'aria-label': 'Filter dead letters',
        onSubmit: (e: Event) => e.preventDefault(),
      },
      select(
        'Pipeline',
        'pipeline',
        data.pipelines.map((p) => p.name),
        'any pipeline',
      ),
      select(
        'Destination',
        'destination',
        data.destinations.map((d) => d.name),
        'any destination',
      ),
      select('Status', 'status', [...STATUSES]),
    ),
    writable &&
      h(
        'div',
        { class: 'row actions' },
        h(
          'button',
          {
            type: 'button',
            disabled: selected.size === 0,
            onClick: () => void replay([...selected]),
          },
          `Replay selected (${selected.size})`,
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            disabled: filters.status !== 'pending' || pending.length === 0,
            onClick: () => void replayMatching(),
          },
          'Replay all matching',
        ),
      ),
    h(
      Section,
      {
        title: `${data.letters.items.length}${data.letters.nextCursor ? '+' : ''} ${filters.status} dead letters`,
      },
      h(
        Table,
        {
          label: 'Dead letters',
          head: [
            ...(writable ? ['Select'] : []),
            'Failed',
            'Pipeline',
            'Route',
            'Destination',
            'Error',
            'Attempts',
            'Actions',
          ],
        },
        data.letters.items.flatMap((letter) => {
          const short = letter.id.slice(0, 8);
          const row = h(
            'tr',
            { key: letter.id, 'data-dead-letter': letter.id },
            writable &&
              h(
                'td',
                null,
                letter.status === 'pending' &&
                  h('input', {
                    type: 'checkbox',
                    id: `select-${letter.id}`,
                    'aria-label': `Select dead letter ${short}`,
                    checked: selected.has(letter.id),
                    onChange: () => toggle(letter.id),
                  }),
              ),
            h('td', null, formatTime(letter.failedAt)),
            h('td', null, letter.pipeline),
            h('td', null, letter.route),
            h('td', null, letter.destination),
            h(
              'td',
              { class: 'error-text' },
              String(letter.error.message ?? letter.error.code ?? ''),
            ),
            h('td', null, String(letter.attempts)),
            h(
              'td',
              { class: 'row' },
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  'aria-expanded': open === letter.id ? 'true' : 'false',
                  'aria-controls': `details-${letter.id}`,
                  'aria-label': `Inspect dead letter ${short}`,
                  onClick: () => setOpen(open === letter.id ? undefined : letter.id),
                },
                'Inspect',
              ),
              writable &&
                letter.status === 'pending' &&
                h(
                  'button',
                  {
                    type: 'button',
                    'aria-label': `Replay dead letter ${short}`,
                    onClick: () => void replay([letter.id]),
                  },
                  'Replay',
                ),
              writable &&
                letter.status === 'pending' &&
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary',
                    'aria-label': `Discard dead letter ${short}`,
                    onClick: () => void discard(letter.id),
                  },
                  'Discard',
                ),
            ),
          );
          if (open !== letter.id) return [row];
          return [
            row,
            h(
              'tr',
              { key: `${letter.id}-details`, id: `details-${letter.id}` },
              h(
                'td',
                { colSpan: writable ? 8 : 7 },
                h('h3', null, `Dead letter ${letter.id}`),
                h('p', null, `Run `, h('a', { href: `#/runs/${letter.runId}` }, letter.runId)),
                h('h4', null, 'Record'),
                h(
                  'pre',
                  { tabIndex: 0, 'aria-label': 'Record' },
                  JSON.stringify(letter.record, null, 2),
                ),
                h('h4', null, 'Error'),
                h(
                  'pre',
                  { tabIndex: 0, 'aria-label': 'Error' },
                  JSON.stringify(letter.error, null, 2),
                ),
              ),
            ),
          ];
        }),
      ),
    ),
  );
}
