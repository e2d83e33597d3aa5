// One signed request, one delivery id: for every scheme the timestamp header is accepted only in
// its canonical decimal spelling, the delivery id derives from the parsed values, and each header
// the signature depends on must arrive exactly once.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { canonicalTimestamp, exactHeader } from './crypto.js';
import { signHubSpotV3 } from './hubspot.js';
import { signSlackRequest } from './slack.js';
import type { WebhookHeaders, WebhookRequest } from './types.js';
import { verifyWebhook } from './verify.js';

const BODY = Buffer.from('{"event":"contact.created","id":42}');
const URL = 'https://sluice.example.com/webhooks/crm';

interface SchemeCase {
  scheme: WebhookRequest['scheme'];
  secret: string;
  timestampHeader: string;
  /** The timestamp in the scheme's unit, and the server clock matching it. */
  ts: number;
  now: number;
  headers(ts: number): Record<string, string>;
}

const SECONDS = 1_760_000_000;
const SW_SECRET = `whsec_${Buffer.from('replay-unit-standard-webhooks').toString('base64')}`;

const CASES: SchemeCase[] = [
  {
    scheme: 'standard-webhooks',
    secret: SW_SECRET,
    timestampHeader: 'webhook-timestamp',
    ts: SECONDS,
    now: SECONDS * 1000,
    // Signed by the official library, which signs the timestamp as a number.
    headers: (ts) => ({
      'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      'webhook-timestamp': String(ts),
      'webhook-signature': new Webhook(SW_SECRET).sign(
        'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
        new Date(ts * 1000),
        BODY,
      ),
    }),
  },
  {
    scheme: 'hubspot-v3',
    secret: 'hubspot-client-secret',
    timestampHeader: 'X-HubSpot-Request-Timestamp',
    ts: SECONDS * 1000 + 123,
    now: SECONDS * 1000 + 123,
    headers: (ts) => ({
      'X-HubSpot-Signature-v3': signHubSpotV3('hubspot-client-secret', 'POST', URL, BODY, ts),
      'X-HubSpot-Request-Timestamp': String(ts),
    }),
  },
  {
    scheme: 'slack',
    secret: 'slack-signing-secret',
    timestampHeader: 'X-Slack-Request-Timestamp',
    ts: SECONDS,
    now: SECONDS * 1000,
    headers: (ts) => ({
      'X-Slack-Signature': signSlackRequest('slack-signing-secret', ts, BODY),
      'X-Slack-Request-Timestamp': String(ts),
    }),
  },
];

const verify = (c: SchemeCase, headers: WebhookHeaders) =>
  verifyWebhook({
    scheme: c.scheme,
    secret: c.secret,
    headers,
    rawBody: BODY,
    method: 'POST',
    url: URL,
    now: c.now,
  });

describe.each(CASES)('$scheme: one signed request has one delivery id', (c) => {
  const signed = c.headers(c.ts);
  const respelled = (value: string | string[]) => ({ ...signed, [c.timestampHeader]: value });

  it('accepts the canonical request, and the same request twice has the same delivery id', () => {
    const first = verify(c, signed);
    const again = verify(c, c.headers(c.ts));
    expect(first.ok).toBe(true);
    expect(again).toEqual(first);
    // Header names are case-insensitive; the id does not depend on their case either.
    const upper = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify(c, upper)).toEqual(first);
  });

  it.each([
    ['a leading zero', `0${c.ts}`],
    ['two leading zeros', `00${c.ts}`],
    ['forty leading zeros', `${'0'.repeat(40)}${c.ts}`],
    ['a plus sign', `+${c.ts}`],
    ['a leading space', ` ${c.ts}`],
    ['a trailing space', `${c.ts} `],
    ['a tab', `\t${c.ts}`],
    ['a no-break space', `\u00a0${c.ts}`],
    ['an exponent', `${c.ts}e0`],
    ['an exponent form of the value', c.ts.toExponential()],
    ['a fraction', `${c.ts}.0`],
    ['a negative value', `-${c.ts}`],
    ['negative zero', '-0'],
    ['hexadecimal', `0x${c.ts.toString(16)}`],
    ['a digit separator', c.ts.toLocaleString('en-US')],
    [
      'Arabic-Indic digits',
      String(c.ts).replace(/[0-9]/g, (d) => String.fromCharCode(0x0660 + Number(d))),
    ],
    [
      'full-width digits',
      String(c.ts).replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))),
    ],
    ['a value above MAX_SAFE_INTEGER', '9007199254740993'],
    ['a very long number', '9'.repeat(400)],
    ['Infinity', 'Infinity'],
    ['two values joined by Node', `${c.ts}, ${c.ts}`],
  ])('refuses the timestamp with %s: 401 naming the header', (_label, value) => {
    expect(verify(c, respelled(value))).toMatchObject({
      ok: false,
      reason: 'invalid-header',
      status: 401,
      message: expect.stringContaining(c.timestampHeader),
    });
  });

  it('refuses the timestamp header sent twice, even with equal values', () => {
    expect(verify(c, respelled([String(c.ts), String(c.ts)]))).toMatchObject({
      ok: false,
      reason: 'invalid-header',
      status: 401,
      message: `${c.timestampHeader} was sent 2 times: send it once`,
    });
    // Two keys that differ only in case (a hand-built header object) are the header sent twice.
    const { [c.timestampHeader]: _dropped, ...rest } = signed;
    const twoKeys = {
      ...rest,
      [c.timestampHeader.toLowerCase()]: String(c.ts),
      [c.timestampHeader.toUpperCase()]: String(c.ts),
    };
    expect(verify(c, twoKeys)).toMatchObject({ ok: false, reason: 'invalid-header', status: 401 });
  });

  it('refuses every other signed header sent twice', () => {
    for (const name of Object.keys(signed).filter((n) => n !== c.timestampHeader)) {
      const value = signed[name]!;
      expect(verify(c, { ...signed, [name]: [value, value] })).toMatchObject({
        ok: false,
        reason: 'invalid-header',
        status: 401,
        message: `${name} was sent 2 times: send it once`,
      });
    }
  });

  it('still answers a missing timestamp with 400, and a canonical one outside the window with 401', () => {
    const { [c.timestampHeader]: _dropped, ...without } = signed;
    expect(verify(c, without)).toMatchObject({ ok: false, reason: 'missing-header', status: 400 });
    expect(verify(c, respelled(''))).toMatchObject({
      ok: false,
      reason: 'missing-header',
      status: 400,
    });
    expect(
      verifyWebhook({
        scheme: c.scheme,
        secret: c.secret,
        headers: signed,
        rawBody: BODY,
        url: URL,
        now: c.now + 301_000,
      }),
    ).toMatchObject({ ok: false, reason: 'stale-timestamp', status: 401 });
  });
});

describe('the delivery id of HubSpot v3 and Slack', () => {
  it('derives from the parsed timestamp and the computed signature, so it differs per timestamp and per body', () => {
    for (const c of CASES.filter((x) => x.scheme !== 'standard-webhooks')) {
      const first = verify(c, c.headers(c.ts));
      const next = verifyWebhook({
        scheme: c.scheme,
        secret: c.secret,
        headers: c.headers(c.ts + 1),
        rawBody: BODY,
        url: URL,
        now: c.now,
      });
      expect(first.ok && next.ok && first.deliveryId !== next.deliveryId).toBe(true);
      expect(
        first.ok && first.deliveryId.startsWith(`${c.scheme === 'slack' ? 'slack' : 'hubspot'}:`),
      ).toBe(true);
    }
  });
});

describe('Standard Webhooks delivery ids', () => {
  const c = CASES[0]!;

  it('are the webhook-id exactly as signed; a re-spaced id is not the same delivery but a bad signature', () => {
    expect(verify(c, c.headers(c.ts))).toMatchObject({
      ok: true,
      deliveryId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
    });
    expect(
      verify(c, { ...c.headers(c.ts), 'webhook-id': '\u00a0msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' }),
    ).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an id longer than the store keeps', () => {
    const id = `msg_${'x'.repeat(600)}`;
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(c.ts),
      'webhook-signature': new Webhook(SW_SECRET).sign(id, new Date(c.ts * 1000), BODY),
    };
    expect(verify(c, headers)).toMatchObject({
      ok: false,
      reason: 'invalid-header',
      status: 401,
      message: 'webhook-id is longer than 500 characters',
    });
  });
});

describe('scheme none', () => {
  it('keeps a sender id that fits the store, and digests a longer one', () => {
    expect(
      verifyWebhook({ scheme: 'none', headers: { 'idempotency-key': 'k1' }, rawBody: BODY }),
    ).toEqual({ ok: true, deliveryId: 'none:k1' });
    const long = verifyWebhook({
      scheme: 'none',
      headers: { 'idempotency-key': 'k'.repeat(2000) },
      rawBody: BODY,
    });
    expect(long.ok && long.deliveryId.length < 100 && long.deliveryId.startsWith('none:')).toBe(
      true,
    );
    expect(
      verifyWebhook({
        scheme: 'none',
        headers: { 'idempotency-key': 'k'.repeat(2000) },
        rawBody: BODY,
      }),
    ).toEqual(long);
  });
});

describe('canonicalTimestamp and exactHeader', () => {
  it('parse the canonical text of safe integers only', () => {
    expect(canonicalTimestamp({ t: '0' }, 't', 'seconds')).toEqual({ ok: true, value: 0 });
    expect(canonicalTimestamp({ t: String(Number.MAX_SAFE_INTEGER) }, 't', 'seconds')).toEqual({
      ok: true,
      value: Number.MAX_SAFE_INTEGER,
    });
    expect(
      canonicalTimestamp({ t: String(Number.MAX_SAFE_INTEGER + 1) }, 't', 'seconds'),
    ).toMatchObject({ ok: false, reason: 'invalid-header' });
    expect(canonicalTimestamp({ t: ['1531420618'] }, 't', 'seconds')).toEqual({
      ok: true,
      value: 1531420618,
    });
    expect(canonicalTimestamp({}, 't', 'seconds')).toMatchObject({
      ok: false,
      reason: 'missing-header',
      message: 'missing header t',
    });
  });

  it('return a header exactly as received, untrimmed', () => {
    expect(exactHeader({ 'X-A': ' v ' }, 'x-a')).toEqual({ ok: true, value: ' v ' });
    expect(exactHeader({ 'x-a': undefined }, 'x-a')).toEqual({ ok: true, value: undefined });
    expect(exactHeader({ 'x-a': [] }, 'x-a')).toEqual({ ok: true, value: undefined });
  });
});
