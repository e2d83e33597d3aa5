// Issue 13, point 1: no secret leaves through the API. Drives the REAL server process (built
// `apps/server/dist/cli.js serve`, PGlite store in a temp folder) with a `read`, a `run` and an
// `admin` key, and tries every way found to make the server resolve a secret reference sent in a
// request, or to make it echo a secret it knows: dry runs, the config PUT endpoints, wrong-type
// fields whose 400 describes the value, references in keys, partial strings, nested and escaped
// forms, secrets held by stored pipelines (set and template transforms), and secrets that
// destinations echo in their check results and write errors.
//
// PostgreSQL at 127.0.0.1:5432 plays a database destination whose driver error names a secret.
//
// Every case is checked against every response body as raw text: no secret value, no 12-character
// window of one (truncated echoes), no JSON-escaped form, no line of /etc/shadow or /etc/passwd.
// Each test collects its failing cases and asserts none is left, so one run reports every case; the
// summary line `{"secrets":{...}}` gives the counts.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startServer,
  tempDir,
  waitForRun,
  triggerRun,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const KEYS = { admin: `adm-${hex(16)}`, run: `run-${hex(16)}`, read: `rd-${hex(16)}` };
/** Every secret value the server process knows or can read, by name. */
const SECRETS: Record<string, string> = {
  SEC_ADMIN_KEY: KEYS.admin,
  SEC_RUN_KEY: KEYS.run,
  SEC_READ_KEY: KEYS.read,
  SEC_EXPORT_TOKEN: `exp-${hex(12)}`,
  // Longer than the 60 characters a validation message quotes before truncating.
  SEC_LONG_TOKEN: `lt-${hex(45)}`,
  // In the environment but not used by the configuration.
  SEC_UNUSED: `unused-${hex(12)}`,
};
// A secret file whose content needs JSON escaping (quote, backslash, newline).
const QUOTED_SECRET = `q"${hex(8)}\\${hex(8)}\n${hex(10)}`;

const readLines = (path: string) =>
  existsSync(path)
    ? (() => {
        try {
          return readFileSync(path, 'utf8')
            .split('\n')
            .filter((line) => line.length >= 8);
        } catch {
          return [];
        }
      })()
    : [];
const SHADOW_LINES = readLines('/etc/shadow');
const PASSWD_LINES = readLines('/etc/passwd');

/** Every fragment of a secret or a readable system file found in `text`. */
function leaksIn(text: string): string[] {
  const found: string[] = [];
  const values: [string, string][] = [...Object.entries(SECRETS), ['quoted.secret', QUOTED_SECRET]];
  for (const [name, value] of values) {
    for (const form of [value, JSON.stringify(value).slice(1, -1)]) {
      for (let i = 0; i + 12 <= form.length; i++) {
        if (text.includes(form.slice(i, i + 12))) {
          found.push(`${name} (fragment "${form.slice(i, i + 12)}")`);
          break;
        }
      }
    }
  }
  for (const [file, lines] of [
    ['/etc/shadow', SHADOW_LINES],
    ['/etc/passwd', PASSWD_LINES],
  ] as const) {
    // A line, or its first 20 characters (what a truncated echo keeps), JSON-escaped or not.
    if (lines.some((line) => text.includes(line.slice(0, 20)))) found.push(`a line of ${file}`);
  }
  if (text.includes('SEC_ADMIN_KEY=') || text.includes('PATH=/'))
    found.push('the process environment');
  return [...new Set(found)];
}

type Out = Record<string, unknown>;

/** The parts of API answers the cases look at (error bodies, dry runs, lists, checks). */
interface Body {
  error?: { code?: string; details?: { path?: string }[] };
  records?: { routes: { output: Out[] }[] }[];
  destinations?: Record<string, Out[]>;
  items?: { name: string; error?: unknown; config?: { routes?: { transform?: Out[] }[] } }[];
  ok?: boolean;
  message?: string;
}

interface Answer {
  status: number;
  text: string;
  json: Body | undefined;
}

let server: ServerProcess;
let dir: string;
const tally = { cases: 0, held: 0 };

async function call(
  method: string,
  path: string,
  key: string,
  body?: unknown,
  rawBody?: string,
): Promise<Answer> {
  const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await res.text();
  let json: Body | undefined;
  try {
    json = text ? (JSON.parse(text) as Body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** Runs the cases of one test; each returns its problems (empty = the case holds). */
async function runCases(
  cases: { name: string; run: () => Promise<string[]> }[],
): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases) {
    tally.cases++;
    const problems = await c.run();
    if (problems.length === 0) tally.held++;
    else failures.push(`${c.name}: ${problems.join('; ')}`);
  }
  return failures;
}

/**
 * Problems of an answer that must be a 400 refusing a secret reference at `path` (by default
 * with `SLUICE_ERR_SECRET_REFERENCE`; a field the request schema types strictly is refused by
 * that schema first, before anything could be resolved).
 */
function refusedAt(
  answer: Answer,
  path: string,
  codes: string[] = ['SLUICE_ERR_SECRET_REFERENCE'],
): string[] {
  const problems: string[] = [];
  if (answer.status !== 400)
    problems.push(`status ${answer.status}, expected 400 (${answer.text.slice(0, 200)})`);
  else {
    if (!codes.includes(String(answer.json?.error?.code)))
      problems.push(`code ${String(answer.json?.error?.code)}, expected ${codes.join(' or ')}`);
    const paths = (answer.json?.error?.details ?? []).map((d) => d.path);
    if (!paths.includes(path))
      problems.push(`details name ${JSON.stringify(paths)}, expected ${path}`);
  }
  return [...problems, ...leaksIn(answer.text).map((l) => `leaked ${l}`)];
}

const noLeak = (answer: Answer) => leaksIn(answer.text).map((l) => `leaked ${l}`);

/** A dry-run body whose pipeline sets field `x` with the given `set` options. */
const dryRunSet = (set: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  pipeline: {
    source: { kind: 'sample' },
    routes: [{ name: 'a', to: ['files'], transform: [{ kind: 'set', field: 'x', ...set }] }],
    ...extra,
  },
  records: [{ channel: 'paid' }],
});

beforeAll(async () => {
  dir = tempDir('secrets');
  writeFileSync(join(dir, 'quoted.secret'), `${QUOTED_SECRET}\n`);
  const config = writeConfig(
    dir,
    `
store:
  dataDir: ${join(dir, 'data')}
server:
  apiKeys:
    - { name: admin, key: '\${env:SEC_ADMIN_KEY}', scopes: [admin] }
    - { name: runner, key: '\${env:SEC_RUN_KEY}', scopes: [run] }
    - { name: reader, key: '\${env:SEC_READ_KEY}', scopes: [read] }
  rateLimit: { perMinute: 100000 }
destinations:
  files:
    kind: file
    root: ${join(dir, 'out')}-\${env:SEC_EXPORT_TOKEN}
    path: '{{pipeline}}/{{batch.id}}.ndjson'
    format: ndjson
  warehouse:
    # A database that does not exist: PostgreSQL's error names it, secret included.
    kind: database
    dialect: postgres
    url: postgres://postgres@127.0.0.1:5432/db_\${env:SEC_EXPORT_TOKEN}
    table: events
    mode: insert
    columns:
      - { name: seq, type: bigint }
    retry: { maxAttempts: 1 }
pipelines:
  demo:
    source: { kind: sample, total: 0 }
    routes:
      - { name: all, to: [files] }
  stamped:
    source: { kind: sample, total: 0 }
    routes:
      - name: all
        to: [files]
        transform:
          - { kind: set, field: token, value: '\${file:./quoted.secret}' }
          - { kind: template, field: auth, template: 'Bearer \${env:SEC_LONG_TOKEN} for {{ channel }}' }
  failing:
    source: { kind: sample, perRun: 3, pageSize: 3 }
    routes:
      - { name: all, to: [warehouse] }
`,
  );
  server = await startServer({ config, adminKey: KEYS.admin, env: SECRETS });
});

afterAll(async () => {
  await server?.stop();
  console.log(JSON.stringify({ secrets: tally }));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('no secret leaves through the API (issue 13.1)', () => {
  it('dry run refuses ${env:...} references from read and run keys, naming the field', async () => {
    const failures = await runCases(
      (['read', 'run'] as const).flatMap((scope) => [
        {
          name: `${scope} key, set value \${env:SEC_ADMIN_KEY}`,
          run: async () =>
            refusedAt(
              await call(
                'POST',
                '/api/v1/dry-run',
                KEYS[scope],
                dryRunSet({ value: '${env:SEC_ADMIN_KEY}' }),
              ),
              'body.pipeline.routes[0].transform[0].value',
            ),
        },
        {
          name: `${scope} key, source option \${env:SEC_RUN_KEY}`,
          run: async () =>
            refusedAt(
              await call('POST', '/api/v1/dry-run', KEYS[scope], {
                pipeline: {
                  source: { kind: 'sample', startDate: '${env:SEC_RUN_KEY}' },
                  routes: [{ name: 'a', to: ['files'] }],
                },
                records: [{}],
              }),
              'body.pipeline.source.startDate',
            ),
        },
      ]),
    );
    expect(failures).toEqual([]);
  });

  it('dry run refuses ${file:...} references (/etc/shadow, /proc/self/environ), admin keys included', async () => {
    const failures = await runCases(
      (['read', 'run', 'admin'] as const).flatMap((scope) =>
        ['/etc/shadow', '/proc/self/environ', '/etc/passwd'].map((file) => ({
          name: `${scope} key, \${file:${file}}`,
          run: async () =>
            refusedAt(
              await call(
                'POST',
                '/api/v1/dry-run',
                KEYS[scope],
                dryRunSet({ value: `\${file:${file}}` }),
              ),
              'body.pipeline.routes[0].transform[0].value',
            ),
        })),
      ),
    );
    expect(failures).toEqual([]);
  });

  it('every spelling of a reference is refused: partial strings, keys, route names, nested, unknown schemes, \\u-escaped JSON', async () => {
    const at = 'body.pipeline.routes[0].transform[0].value';
    const refused = (
      name: string,
      body: unknown,
      path: string,
      rawBody?: string,
      codes?: string[],
    ) => ({
      name,
      run: async () =>
        refusedAt(await call('POST', '/api/v1/dry-run', KEYS.read, body, rawBody), path, codes),
    });
    const failures = await runCases([
      refused('partial string x${env:..}y', dryRunSet({ value: 'x${env:SEC_ADMIN_KEY}y' }), at),
      refused(
        'second reference in a string',
        dryRunSet({ value: '$${literal} ${env:SEC_ADMIN_KEY}' }),
        at,
      ),
      refused('inside an array', dryRunSet({ value: ['ok', '${env:SEC_ADMIN_KEY}'] }), `${at}[1]`),
      refused(
        'deep in an object',
        dryRunSet({ value: { a: { b: '${env:SEC_ADMIN_KEY}' } } }),
        `${at}.a.b`,
      ),
      refused(
        'as an object key',
        dryRunSet({ value: { '${env:SEC_ADMIN_KEY}': 1 } }),
        `${at}["\${env:SEC_ADMIN_KEY}"]`,
      ),
      refused(
        'as the set field (an output key)',
        {
          pipeline: {
            source: { kind: 'sample' },
            routes: [
              {
                name: 'a',
                to: ['files'],
                transform: [{ kind: 'set', field: '${env:SEC_ADMIN_KEY}', value: 1 }],
              },
            ],
          },
          records: [{}],
        },
        'body.pipeline.routes[0].transform[0].field',
      ),
      // Route names have a strict pattern: the request schema refuses the text as written.
      refused(
        'as a route name (echoed in the output)',
        {
          pipeline: {
            source: { kind: 'sample' },
            routes: [{ name: '${env:SEC_ADMIN_KEY}', to: ['files'] }],
          },
          records: [{}],
        },
        'body.pipeline.routes[0].name',
        undefined,
        ['SLUICE_ERR_SECRET_REFERENCE', 'SLUICE_ERR_CONFIG'],
      ),
      refused(
        'as a template',
        {
          pipeline: {
            source: { kind: 'sample' },
            routes: [
              {
                name: 'a',
                to: ['files'],
                transform: [{ kind: 'template', field: 'm', template: 'k=${env:SEC_ADMIN_KEY}' }],
              },
            ],
          },
          records: [{}],
        },
        'body.pipeline.routes[0].transform[0].template',
      ),
      refused(
        'in a description',
        dryRunSet({ value: 1 }, { description: '${env:SEC_ADMIN_KEY}' }),
        'body.pipeline.description',
      ),
      refused('nested ${env:${env:..}}', dryRunSet({ value: '${env:${env:SEC_ADMIN_KEY}}' }), at),
      refused(
        'right after an escaped one: $${env:X}${env:..}',
        dryRunSet({ value: '$${env:X}${env:SEC_ADMIN_KEY}' }),
        at,
      ),
      refused('unknown scheme ${vault:..}', dryRunSet({ value: '${vault:SEC_ADMIN_KEY}' }), at),
      refused('upper-case scheme ${ENV:..}', dryRunSet({ value: '${ENV:SEC_ADMIN_KEY}' }), at),
      refused(
        '\\u-escaped in the JSON text',
        undefined,
        at,
        JSON.stringify(dryRunSet({ value: 'PLACEHOLDER' })).replace(
          'PLACEHOLDER',
          '\\u0024\\u007benv:SEC_ADMIN_KEY}',
        ),
      ),
      ...[
        ['$${env:SEC_ADMIN_KEY}', '${env:SEC_ADMIN_KEY}'],
        ['$$$${env:SEC_ADMIN_KEY}', '$$${env:SEC_ADMIN_KEY}'],
      ].map(([written, literal]) => ({
        name: `an escaped ${written} stays literal text`,
        run: async () => {
          const answer = await call(
            'POST',
            '/api/v1/dry-run',
            KEYS.read,
            dryRunSet({ value: written }),
          );
          const x = answer.json?.records?.[0]?.routes?.[0]?.output?.[0]?.x;
          return [
            ...(answer.status === 200 && x === literal
              ? []
              : [`status ${answer.status}, x ${JSON.stringify(x)}`]),
            ...noLeak(answer),
          ];
        },
      })),
      {
        name: 'references inside records are data, never resolved',
        run: async () => {
          const answer = await call('POST', '/api/v1/dry-run', KEYS.read, {
            pipeline: 'demo',
            records: [{ a: '${env:SEC_ADMIN_KEY}', b: '${file:/etc/shadow}' }],
          });
          const out = answer.json?.records?.[0]?.routes?.[0]?.output?.[0];
          return [
            ...(answer.status === 200 &&
            out?.a === '${env:SEC_ADMIN_KEY}' &&
            out?.b === '${file:/etc/shadow}'
              ? []
              : [`status ${answer.status}, output ${JSON.stringify(out)}`]),
            ...noLeak(answer),
          ];
        },
      },
    ]);
    expect(failures).toEqual([]);
  });

  it('a reference in a field of the wrong type leaks nothing through the 400', async () => {
    const failures = await runCases([
      {
        name: 'read key, source.perRun ${file:/etc/passwd}',
        run: async () =>
          refusedAt(
            await call('POST', '/api/v1/dry-run', KEYS.read, {
              pipeline: {
                source: { kind: 'sample', perRun: '${file:/etc/passwd}' },
                routes: [{ name: 'a', to: ['files'] }],
              },
              records: [{}],
            }),
            'body.pipeline.source.perRun',
          ),
      },
      {
        name: 'read key, flatten arrays ${file:/etc/shadow}',
        run: async () =>
          refusedAt(
            await call('POST', '/api/v1/dry-run', KEYS.read, {
              pipeline: {
                source: { kind: 'sample' },
                routes: [
                  {
                    name: 'a',
                    to: ['files'],
                    transform: [{ kind: 'flatten', arrays: '${file:/etc/shadow}' }],
                  },
                ],
              },
              records: [{}],
            }),
            'body.pipeline.routes[0].transform[0].arrays',
          ),
      },
      ...[
        ['${env:SEC_LONG_TOKEN} (longer than a quoted value)', '${env:SEC_LONG_TOKEN}'],
        ['x${env:SEC_LONG_TOKEN}y (partial)', 'x${env:SEC_LONG_TOKEN}y'],
        ['${file:./quoted.secret} (needs JSON escaping)', '${file:./quoted.secret}'],
      ].map(([label, reference]) => ({
        name: `admin key, a secret the server uses, source.perRun ${label}`,
        run: async () => {
          const answer = await call('POST', '/api/v1/dry-run', KEYS.admin, {
            pipeline: {
              source: { kind: 'sample', perRun: reference },
              routes: [{ name: 'a', to: ['files'] }],
            },
            records: [{}],
          });
          const details = answer.json?.error?.details ?? [];
          return [
            ...(answer.status === 400 && answer.json?.error?.code === 'SLUICE_ERR_CONFIG'
              ? []
              : [`status ${answer.status} ${String(answer.json?.error?.code)}`]),
            ...(details.some((d) => d.path === 'body.pipeline.source.perRun')
              ? []
              : [`details ${JSON.stringify(details.map((d) => d.path))}`]),
            ...noLeak(answer),
          ];
        },
      })),
    ]);
    expect(failures).toEqual([]);
  });

  it('PUT of pipelines, connections, destinations and schedules with references the server does not use is refused and stores nothing', async () => {
    const snapshot = async () => {
      const parts: string[] = [];
      for (const section of ['pipelines', 'connections', 'destinations']) {
        const list = await call('GET', `/api/v1/${section}`, KEYS.read);
        parts.push(JSON.stringify(list.json));
        for (const item of list.json?.items ?? [])
          parts.push(
            (await call('GET', `/api/v1/${section}/${item.name}/versions`, KEYS.read)).text,
          );
      }
      return parts.join('\n');
    };
    const put = (name: string, path: string, body: unknown, field: string, codes?: string[]) => ({
      name,
      run: async () => {
        const before = await snapshot();
        const answer = await call('PUT', path, KEYS.admin, body);
        const stored = await snapshot();
        return [
          ...refusedAt(answer, field, codes),
          ...(stored === before ? [] : ['the store changed']),
        ];
      },
    });
    const pipeline = (value: string) => ({
      source: { kind: 'sample', total: 0 },
      routes: [{ name: 'all', to: ['files'], transform: [{ kind: 'set', field: 'x', value }] }],
    });
    const failures = await runCases([
      put(
        'new pipeline, ${env:SEC_UNUSED}',
        '/api/v1/pipelines/fresh',
        pipeline('${env:SEC_UNUSED}'),
        'body.routes[0].transform[0].value',
      ),
      put(
        'existing pipeline, ${file:/etc/shadow}',
        '/api/v1/pipelines/demo',
        pipeline('${file:/etc/shadow}'),
        'body.routes[0].transform[0].value',
      ),
      put(
        'existing pipeline, ${env:HOME} in a partial string',
        '/api/v1/pipelines/demo',
        pipeline('home=${env:HOME}'),
        'body.routes[0].transform[0].value',
      ),
      put(
        'new connection, ${env:SEC_UNUSED}',
        '/api/v1/connections/extra',
        { kind: 'sample', startDate: '${env:SEC_UNUSED}' },
        'body.startDate',
      ),
      put(
        'new destination, ${file:/proc/self/environ}',
        '/api/v1/destinations/extra',
        { kind: 'file', root: '${file:/proc/self/environ}', path: 'x.ndjson', format: 'ndjson' },
        'body.root',
      ),
      put(
        'existing destination, ${env:SEC_UNUSED}',
        '/api/v1/destinations/files',
        { kind: 'file', root: `${dir}/\${env:SEC_UNUSED}`, path: 'x.ndjson', format: 'ndjson' },
        'body.root',
      ),
      // Every schedule field is typed by the request schema, which refuses the text as written.
      put(
        'a reference the server uses, but in a key',
        '/api/v1/pipelines/fresh',
        {
          ...pipeline('x'),
          routes: [
            {
              name: 'all',
              to: ['files'],
              transform: [{ kind: 'set', field: 'x', value: { '${env:SEC_LONG_TOKEN}': 1 } }],
            },
          ],
        },
        'body.routes[0].transform[0].value["${env:SEC_LONG_TOKEN}"]',
      ),
      put(
        'a reference of an unknown scheme',
        '/api/v1/connections/extra',
        { kind: 'sample', startDate: '${vault:SEC_LONG_TOKEN}' },
        'body.startDate',
      ),
      put(
        'schedule, ${env:SEC_UNUSED}',
        '/api/v1/schedules/demo',
        { cron: '@daily', timezone: '${env:SEC_UNUSED}' },
        'body.timezone',
        ['SLUICE_ERR_SECRET_REFERENCE', 'SLUICE_ERR_CONFIG'],
      ),
      {
        name: 'read and run keys cannot PUT at all',
        run: async () => {
          const before = await snapshot();
          const problems: string[] = [];
          for (const key of [KEYS.read, KEYS.run]) {
            const answer = await call(
              'PUT',
              '/api/v1/pipelines/demo',
              key,
              pipeline('${env:SEC_ADMIN_KEY}'),
            );
            if (answer.status !== 403) problems.push(`status ${answer.status}`);
            problems.push(...noLeak(answer));
          }
          return [...problems, ...((await snapshot()) === before ? [] : ['the store changed'])];
        },
      },
    ]);
    expect(failures).toEqual([]);
  });

  it('an admin key may reference a secret the server already uses: the store keeps the reference, every response is redacted', async () => {
    const failures = await runCases([
      {
        name: 'PUT with ${env:SEC_LONG_TOKEN} and ${file:./quoted.secret}, then GET and a read-key dry run',
        run: async () => {
          const problems: string[] = [];
          const body = {
            source: { kind: 'sample', total: 0 },
            routes: [
              {
                name: 'all',
                to: ['files'],
                transform: [
                  { kind: 'set', field: 'token', value: 'x${env:SEC_LONG_TOKEN}y' },
                  { kind: 'set', field: 'file', value: '${file:./quoted.secret}' },
                ],
              },
            ],
          };
          const saved = await call('PUT', '/api/v1/pipelines/tokened', KEYS.admin, body);
          if (saved.status !== 201)
            problems.push(`PUT status ${saved.status} ${saved.text.slice(0, 200)}`);
          problems.push(...noLeak(saved));
          const versions = await call('GET', '/api/v1/pipelines/tokened/versions', KEYS.read);
          const stored = versions.json?.items?.[0]?.config?.routes?.[0]?.transform;
          if (
            stored?.[0]?.value !== 'x${env:SEC_LONG_TOKEN}y' ||
            stored?.[1]?.value !== '${file:./quoted.secret}'
          )
            problems.push(`stored ${JSON.stringify(stored)}`);
          problems.push(...noLeak(versions));
          const preview = await call('POST', '/api/v1/dry-run', KEYS.read, {
            pipeline: 'tokened',
            records: [{ channel: 'paid' }],
          });
          const out = preview.json?.records?.[0]?.routes?.[0]?.output?.[0];
          if (preview.status !== 200 || out?.token !== 'x[redacted]y' || out?.file !== '[redacted]')
            problems.push(`dry run ${preview.status} ${JSON.stringify(out)}`);
          return [...problems, ...noLeak(preview)];
        },
      },
      {
        name: 'admin dry run with ${env:SEC_ADMIN_KEY} (used by server.apiKeys)',
        run: async () => {
          const answer = await call(
            'POST',
            '/api/v1/dry-run',
            KEYS.admin,
            dryRunSet({ value: '${env:SEC_ADMIN_KEY}' }),
          );
          const x = answer.json?.records?.[0]?.routes?.[0]?.output?.[0]?.x;
          return [
            ...(answer.status === 200 && x === '[redacted]'
              ? []
              : [`status ${answer.status}, x ${JSON.stringify(x)}`]),
            ...noLeak(answer),
          ];
        },
      },
      {
        name: 'admin dry run with the absolute path of the ${file:./quoted.secret} the server uses',
        run: async () => {
          const answer = await call(
            'POST',
            '/api/v1/dry-run',
            KEYS.admin,
            dryRunSet({ value: `\${file:${join(dir, 'quoted.secret')}}` }),
          );
          const x = answer.json?.records?.[0]?.routes?.[0]?.output?.[0]?.x;
          return [
            ...(answer.status === 200 && x === '[redacted]'
              ? []
              : [`status ${answer.status}, x ${JSON.stringify(x)}`]),
            ...noLeak(answer),
          ];
        },
      },
      {
        name: 'admin dry run with ${env:SEC_UNUSED} (not used by the server)',
        run: async () =>
          refusedAt(
            await call(
              'POST',
              '/api/v1/dry-run',
              KEYS.admin,
              dryRunSet({ value: '${env:SEC_UNUSED}' }),
            ),
            'body.pipeline.routes[0].transform[0].value',
          ),
      },
    ]);
    expect(failures).toEqual([]);
  });

  it('a dry run of a stored pipeline whose set and template transforms hold secrets answers them redacted', async () => {
    const failures = await runCases(
      (['read', 'admin'] as const).map((scope) => ({
        name: `${scope} key, dry run of "stamped"`,
        run: async () => {
          const answer = await call('POST', '/api/v1/dry-run', KEYS[scope], {
            pipeline: 'stamped',
            records: [{ channel: 'paid' }, { channel: 'organic' }],
          });
          const problems: string[] = [];
          // The destinations section repeats the same output records: both must be redacted.
          const outputs = [
            ...(answer.json?.records ?? []).flatMap((r) =>
              r.routes.flatMap((route) => route.output),
            ),
            ...(answer.json?.destinations?.files ?? []),
          ];
          if (answer.status !== 200 || outputs.length !== 4)
            problems.push(`status ${answer.status}, ${outputs.length} outputs`);
          for (const out of outputs) {
            if (
              out.token !== '[redacted]' ||
              !/^Bearer \[redacted\] for (paid|organic)$/.test(String(out.auth))
            )
              problems.push(`output ${JSON.stringify(out)}`);
          }
          return [...problems, ...noLeak(answer)];
        },
      })),
    );
    expect(failures).toEqual([]);
  });

  it("a secret echoed by a destination's check or a run's write errors is redacted", async () => {
    const failures = await runCases([
      {
        name: 'check of a writable destination whose root holds a secret',
        run: async () => {
          const answer = await call('POST', '/api/v1/destinations/files/check', KEYS.run);
          return [
            ...(answer.status === 200 &&
            answer.json?.ok === true &&
            String(answer.json?.message).includes('[redacted]')
              ? []
              : [`${answer.status} ${answer.text.slice(0, 200)}`]),
            ...noLeak(answer),
          ];
        },
      },
      {
        name: "check of a destination whose driver's error names a secret",
        run: async () => {
          const answer = await call('POST', '/api/v1/destinations/warehouse/check', KEYS.run);
          return [
            ...(answer.status === 200 &&
            answer.json?.ok === false &&
            String(answer.json?.message).includes('[redacted]')
              ? []
              : [`${answer.status} ${answer.text.slice(0, 200)}`]),
            ...noLeak(answer),
          ];
        },
      },
      {
        name: "a run's dead letters, run view, run list and run log after write errors naming a secret",
        run: async () => {
          const runId = await triggerRun(server, 'failing');
          await waitForRun(server, runId);
          const problems: string[] = [];
          const run = await call('GET', `/api/v1/runs/${runId}`, KEYS.read);
          const letters = await call('GET', '/api/v1/dead-letters?pipeline=failing', KEYS.read);
          const items = letters.json?.items ?? [];
          if (items.length === 0)
            problems.push(`no dead letters (${letters.status} ${letters.text.slice(0, 200)})`);
          if (!items.some((item) => JSON.stringify(item.error).includes('[redacted]')))
            problems.push(
              `dead letter errors ${JSON.stringify(items.map((i) => i.error)).slice(0, 300)}`,
            );
          const list = await call('GET', '/api/v1/runs?pipeline=failing', KEYS.read);
          const logs = await call('GET', `/api/v1/runs/${runId}/logs`, KEYS.read);
          return [
            ...problems,
            ...noLeak(run),
            ...noLeak(letters),
            ...noLeak(list),
            ...noLeak(logs),
          ];
        },
      },
    ]);
    expect(failures).toEqual([]);
  }, 120_000);

  it('the server log holds no secret and no fragment of a file a request named', async () => {
    const failures = await runCases([
      {
        name: 'every log line so far',
        run: async () => leaksIn(server.lines.join('\n')).map((l) => `log ${l}`),
      },
    ]);
    expect(failures).toEqual([]);
  });
});
