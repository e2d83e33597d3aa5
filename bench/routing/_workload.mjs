// The routing workload of issue 19, shared by the library bench (index.mjs) and the whole-process
// bench (cli.mjs): seeded ~800 B marketing records as NDJSON, the 10 rules with their transforms,
// and the oracle that checks each rule's output file against plain code.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// A small seeded PRNG (mulberry32) so every run routes the same records.
export function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const CHANNELS = ['email', 'paid', 'organic', 'social', 'referral', 'direct'];
const COUNTRIES = ['DE', 'US', 'FR', 'AT', 'GB', 'CH', 'NL'];
const DEVICES = ['desktop', 'mobile', 'tablet'];
/**
 * The NDJSON of `n` records in pieces of at most `size` records (1M records are ~800 MB, more
 * than one JavaScript string holds); the same records as one makeNdjson(n).
 */
export function* ndjsonChunks(n, size = 50_000) {
  const random = prng(19);
  for (let from = 0; from < n; from += size) yield ndjsonOf(random, from, Math.min(n, from + size));
}

/** The NDJSON of `n` records as one string (for n up to a few hundred thousand). */
export function makeNdjson(n) {
  return [...ndjsonChunks(n)].join('');
}

function ndjsonOf(random, from, to) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  let text = '';
  for (let i = from; i < to; i++) {
    const sessions = Math.floor(random() * 2000);
    const record = {
      id: `evt-${i}`,
      date: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`,
      channel: pick(CHANNELS),
      country: pick(COUNTRIES),
      device: pick(DEVICES),
      sessions,
      previous_sessions: Math.floor(random() * 2000) + 1,
      conversions: Math.floor(sessions * random() * 0.1),
      revenue: Math.round(random() * 500000) / 100,
      bounce_rate: Math.round(random() * 1000) / 1000,
      utm: {
        source: pick(['google', 'newsletter', 'facebook', 'linkedin', 'partner']),
        medium: pick(['cpc', 'email', 'social', 'referral']),
        campaign: `camp-${Math.floor(random() * 120)}`,
        content: `ad-${Math.floor(random() * 40)}`,
      },
      landing_page: `https://www.example.com/${pick(['pricing', 'blog', 'features', 'signup', 'docs'])}/${Math.floor(random() * 1000)}?ref=${Math.floor(random() * 1e6)}`,
      user_agent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      consent: { analytics: random() < 0.8, marketing: random() < 0.5 },
      segments: [
        pick(['new', 'returning']),
        pick(['b2b', 'b2c']),
        pick(['trial', 'paying', 'churned']),
      ],
      note: 'x'.repeat(220 + Math.floor(random() * 40)),
    };
    text += `${JSON.stringify(record)}\n`;
  }
  return text;
}

// 10 rules: 8 structured, 2 JSONPath filters on the record; each with 2 transforms; all continue
// (fan-out). `jsonpathForm` picks how the 2 JSONPath rules are written.
export function rules(jsonpathForm) {
  const drop = (fields) => ({ kind: 'omit', fields });
  const tag = (value) => ({ kind: 'set', field: 'rule', value });
  const filters = {
    // As users write them before issue 19 (one evaluation per member of the record) …
    query: [
      '$[?$.revenue > 2500 && $.consent.marketing == true]',
      "$[?$.country == 'DE' && ($.channel == 'paid' || $.channel == 'social')]",
    ],
    // … and the record-level filter of issue 19 (one evaluation per record).
    filter: [
      { filter: '@.revenue > 2500 && @.consent.marketing == true' },
      { filter: "@.country == 'DE' && (@.channel == 'paid' || @.channel == 'social')" },
    ],
  }[jsonpathForm];
  return [
    {
      name: 'paid',
      when: { path: '$.channel', op: 'eq', value: 'paid' },
      transform: [drop(['user_agent', 'note']), tag('paid')],
    },
    {
      name: 'email',
      when: { path: '$.utm.medium', op: 'eq', value: 'email' },
      transform: [drop(['user_agent', 'note']), tag('email')],
    },
    {
      name: 'dach',
      when: { path: '$.country', op: 'in', value: ['DE', 'AT', 'CH'] },
      transform: [drop(['user_agent', 'note']), tag('dach')],
    },
    {
      name: 'busy',
      when: { path: '$.sessions', op: 'gte', value: 1500 },
      transform: [drop(['user_agent', 'note']), tag('busy')],
    },
    {
      name: 'mobile-new',
      when: {
        all: [
          { path: '$.device', op: 'eq', value: 'mobile' },
          { path: '$.segments[0]', op: 'eq', value: 'new' },
        ],
      },
      transform: [drop(['user_agent', 'note']), tag('mobile-new')],
    },
    {
      name: 'google',
      when: { path: '$.utm.source', op: 'startsWith', value: 'goo' },
      transform: [drop(['user_agent', 'note']), tag('google')],
    },
    {
      name: 'bouncy',
      when: { path: '$.bounce_rate', op: 'gt', value: 0.9 },
      transform: [drop(['user_agent', 'note']), tag('bouncy')],
    },
    {
      name: 'converted',
      when: { not: { path: '$.conversions', op: 'eq', value: 0 } },
      transform: [drop(['user_agent', 'note']), tag('converted')],
    },
    {
      name: 'big-spender',
      when: filters[0],
      transform: [drop(['user_agent', 'note']), tag('big-spender')],
    },
    {
      name: 'dach-paid-social',
      when: filters[1],
      transform: [drop(['user_agent', 'note']), tag('dach-paid-social')],
    },
  ].map((rule) => ({ ...rule, to: [rule.name], mode: 'continue' }));
}
export const RULE_NAMES = rules('query').map((r) => r.name);

// The oracle: the same rules in plain code.
export const oracle = [
  (r) => r.channel === 'paid',
  (r) => r.utm.medium === 'email',
  (r) => ['DE', 'AT', 'CH'].includes(r.country),
  (r) => r.sessions >= 1500,
  (r) => r.device === 'mobile' && r.segments[0] === 'new',
  (r) => r.utm.source.startsWith('goo'),
  (r) => r.bounce_rate > 0.9,
  (r) => r.conversions !== 0,
  (r) => r.revenue > 2500 && r.consent.marketing === true,
  (r) => r.country === 'DE' && (r.channel === 'paid' || r.channel === 'social'),
];

export function* lines(text) {
  let start = 0;
  for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
    yield text.slice(start, end);
    start = end + 1;
  }
}

// The text as pieces: one string, or the pieces of ndjsonChunks.
const piecesOf = (text) => (typeof text === 'string' ? [text] : text);

/** Checks each rule's output under `root` against the oracle; `text` is a string or its pieces. */
export function checkAgainstOracle(text, root, label) {
  const expected = RULE_NAMES.map(() => 0);
  for (const piece of piecesOf(text))
    for (const line of lines(piece)) {
      const record = JSON.parse(line);
      oracle.forEach((test, i) => {
        if (test(record)) expected[i]++;
      });
    }
  RULE_NAMES.forEach((rule, i) => {
    const folder = existsSync(join(root, rule)) ? join(root, rule) : root;
    const files = readdirSync(folder).filter(
      (f) => f.startsWith(`${rule}.`) && f.endsWith('.ndjson'),
    );
    let got = 0;
    for (const file of files) {
      // As bytes: a rule's file of 1M records can be longer than a string may be.
      const content = readFileSync(join(folder, file));
      for (let start = 0, end; (end = content.indexOf(10, start)) !== -1; start = end + 1) {
        const record = JSON.parse(content.toString('utf8', start, end));
        if (record.rule !== rule || 'note' in record || 'user_agent' in record)
          throw new Error(`${label}: ${file} holds a record not transformed for ${rule}`);
        got++;
      }
    }
    if (got !== expected[i])
      throw new Error(`${label}: ${rule} has ${got} records, the oracle says ${expected[i]}`);
  });
  return expected;
}

/** The baseline: JSON.parse + JSON.stringify of every line, in seconds. */
export function baselineRun(text) {
  const t0 = performance.now();
  let sink = 0;
  for (const piece of piecesOf(text))
    for (const line of lines(piece)) sink += JSON.stringify(JSON.parse(line)).length;
  if (sink === 0) throw new Error('unreachable');
  return (performance.now() - t0) / 1000;
}
