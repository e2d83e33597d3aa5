import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, can, describeFailure, usePoll, type KeyInfo } from '../api.js';
import { Loading, Section, Table } from '../components.js';
import { Backfill } from './backfill.js';
import { Versions } from './versions.js';

interface RouteConfig {
  name: string;
  priority?: number;
  when?: unknown;
  to: string[];
  mode?: string;
}
interface PipelineEntry {
  name: string;
  enabled: boolean;
  latestVersion: number;
  config: {
    source?: { kind?: string; connection?: string } & Record<string, unknown>;
    routes?: RouteConfig[];
    defaultRoute?: { to: string[] };
  };
}

/**
 * A condition in one line: a JSONPath query as written; a structured one as
 * `path op value`, joined by `and` / `or` / `not` (docs/router/conditions.md).
 */
function conditionText(when: unknown): string {
  if (when === undefined) return 'every record';
  if (typeof when === 'string') return when;
  const c = (when ?? {}) as Record<string, unknown>;
  const group = (items: unknown[], word: string) =>
    items.length === 1
      ? conditionText(items[0])
      : `(${items.map(conditionText).join(` ${word} `)})`;
  if (Array.isArray(c.all)) return group(c.all, 'and');
  if (Array.isArray(c.any)) return group(c.any, 'or');
  if (c.not !== undefined) return `not ${conditionText(c.not)}`;
  if (typeof c.path === 'string' && typeof c.op === 'string')
    return `${c.path} ${c.op}${'value' in c ? ` ${JSON.stringify(c.value)}` : ''}`;
  return JSON.stringify(when);
}

const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** The routes in evaluation order: descending priority, then as configured. */
function routesInOrder(entry: PipelineEntry): RouteConfig[] {
  const routes = [...(entry.config.routes ?? [])].map((r, i) => ({ r, i }));
  routes.sort((a, b) => (b.r.priority ?? 0) - (a.r.priority ?? 0) || a.i - b.i);
  const ordered = routes.map(({ r }) => r);
  if (entry.config.defaultRoute)
    ordered.push({
      name: '(default route)',
      to: entry.config.defaultRoute.to,
      when: 'no other route matched',
    });
  return ordered;
}

/** source → routes (priority, condition) → destinations, as plain SVG boxes and lines. */
function RouteGraph({ entry }: { entry: PipelineEntry }) {
  const routes = routesInOrder(entry);
  const destinations = [...new Set(routes.flatMap((r) => r.to))];
  const rowH = 64;
  const rows = Math.max(routes.length, destinations.length, 1);
  const height = rows * rowH + 16;
  const y = (i: number, n: number) => 8 + ((rows - n) * rowH) / 2 + i * rowH;
  const box = { h: 48 };
  const col = { source: 8, route: 330, destination: 700 };
  const width = { source: 200, route: 280, destination: 200 };
  const source = entry.config.source ?? {};
  const sourceY = y(0, 1);
  const summary = `${entry.name}: source ${String(source.kind ?? source.connection ?? '?')} to ${routes.length} routes to ${destinations.length} destinations`;
  return h(
    'svg',
    {
      class: 'graph',
      viewBox: `0 0 908 ${height}`,
      role: 'img',
      'aria-label': summary,
    },
    routes.map((route, i) =>
      h('line', {
        key: `s-${route.name}`,
        x1: col.source + width.source,
        y1: sourceY + box.h / 2,
        x2: col.route,
        y2: y(i, routes.length) + box.h / 2,
        class: 'edge',
      }),
    ),
    routes.flatMap((route, i) =>
      route.to.map((to) =>
        h('line', {
          key: `r-${route.name}-${to}`,
          x1: col.route + width.route,
          y1: y(i, routes.length) + box.h / 2,
          x2: col.destination,
          y2: y(destinations.indexOf(to), destinations.length) + box.h / 2,
          class: 'edge',
        }),
      ),
    ),
    h(
      'g',
      { class: 'node source' },
      h('rect', { x: col.source, y: sourceY, width: width.source, height: box.h, rx: 6 }),
      h('text', { x: col.source + 10, y: sourceY + 20 }, 'source'),
      h(
        'text',
        { x: col.source + 10, y: sourceY + 38, class: 'strong' },
        clip(String(source.connection ?? source.kind ?? ''), 24),
      ),
    ),
    routes.map((route, i) =>
      h(
        'g',
        { class: 'node route', key: route.name },
        h('rect', {
          x: col.route,
          y: y(i, routes.length),
          width: width.route,
          height: box.h,
          rx: 6,
        }),
        h(
          'text',
          { x: col.route + 10, y: y(i, routes.length) + 20, class: 'strong' },
          clip(
            `${route.name}${route.priority !== undefined ? ` · priority ${route.priority}` : ''}`,
            34,
          ),
        ),
        h(
          'text',
          { x: col.route + 10, y: y(i, routes.length) + 38 },
          clip(conditionText(route.when), 36),
        ),
      ),
    ),
    destinations.map((name, i) =>
      h(
        'g',
        { class: 'node destination', key: name },
        h('rect', {
          x: col.destination,
          y: y(i, destinations.length),
          width: width.destination,
          height: box.h,
          rx: 6,
        }),
        h(
          'text',
          { x: col.destination + 10, y: y(i, destinations.length) + 30, class: 'strong' },
          clip(name, 24),
        ),
      ),
    ),
  );
}

/** One pipeline: its route graph and routes table, enable/disable (admin), run now with parameters (run). */
export function PipelineView({
  apiKey,
  keyInfo,
  name,
}: {
  apiKey: string;
  keyInfo: KeyInfo;
  name: string;
}) {
  const [message, setMessage] = useState<{ text: string; error?: boolean; runId?: string }>();
  const [params, setParams] = useState('');
  const path = `/api/v1/pipelines/${encodeURIComponent(name)}`;
  const { data, error, reload } = usePoll(() => api<PipelineEntry>(apiKey, path), [apiKey, name]);
  const setEnabled = async (enabled: boolean) => {
    try {
      await api(apiKey, `${path}/${enabled ? 'enable' : 'disable'}`, { method: 'POST', body: {} });
      setMessage({ text: `${name} ${enabled ? 'enabled' : 'disabled'}.` });
      reload();
    } catch (e) {
      setMessage({ text: describeFailure(e, 'admin'), error: true });
    }
  };
  const runNow = async (event: Event) => {
    event.preventDefault();
    let body: Record<string, unknown> = {};
    if (params.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(params);
      } catch (e) {
        setMessage({ text: `Parameters are not valid JSON: ${(e as Error).message}`, error: true });
        return;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        setMessage({ text: 'Parameters must be a JSON object.', error: true });
        return;
      }
      body = { params: parsed };
    }
    try {
      const run = await api<{ runId: string }>(apiKey, `${path}/runs`, { method: 'POST', body });
      setMessage({ text: `Run of ${name} queued.`, runId: run.runId });
    } catch (e) {
      setMessage({ text: describeFailure(e, 'run'), error: true });
    }
  };
  if (!data) return h(Loading, { error });
  const routes = routesInOrder(data);
  return h(
    'main',
    { id: 'main' },
    h('p', null, h('a', { href: '#/' }, '← Overview')),
    h('h1', null, `Pipeline ${data.name}`),
    h(
      'p',
      { id: 'pipeline-state' },
      `${data.enabled ? 'Enabled' : 'Disabled'} · version ${data.latestVersion}`,
    ),
    message &&
      h(
        'p',
        { class: message.error ? 'error' : 'notice', role: message.error ? 'alert' : 'status' },
        message.text,
        message.runId && [' ', h('a', { href: `#/runs/${message.runId}` }, 'Open the run')],
      ),
    h(
      'div',
      { class: 'row actions' },
      can(keyInfo, 'admin') &&
        h(
          'button',
          { type: 'button', class: 'secondary', onClick: () => void setEnabled(!data.enabled) },
          data.enabled ? 'Disable' : 'Enable',
        ),
    ),
    h(
      Section,
      { title: 'Routes' },
      h(RouteGraph, { entry: data }),
      h(
        Table,
        {
          label: 'Routes in evaluation order',
          head: ['Route', 'Priority', 'Condition', 'Mode', 'To'],
        },
        routes.map((route) =>
          h(
            'tr',
            { key: route.name, 'data-route': route.name },
            h('th', { scope: 'row' }, route.name),
            h('td', null, String(route.priority ?? 0)),
            h('td', { class: 'mono' }, conditionText(route.when)),
            h('td', null, route.mode ?? 'continue'),
            h('td', null, route.to.join(', ')),
          ),
        ),
      ),
    ),
    h(Versions, { apiKey, name: data.name, latest: data.latestVersion }),
    can(keyInfo, 'run') &&
      h(
        Section,
        { title: 'Run now' },
        h(
          'form',
          { class: 'stack', onSubmit: runNow },
          h(
            'div',
            { class: 'field' },
            h('label', { for: 'run-params' }, 'Parameters (optional JSON object)'),
            h('textarea', {
              id: 'run-params',
              rows: 3,
              spellcheck: false,
              value: params,
              onInput: (e: Event) => setParams((e.target as HTMLTextAreaElement).value),
            }),
          ),
          h('div', null, h('button', { type: 'submit', disabled: !data.enabled }, 'Run now')),
        ),
      ),
    can(keyInfo, 'run') && data.enabled && h(Backfill, { apiKey, name: data.name }),
  );
}
