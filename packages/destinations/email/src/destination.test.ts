import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createMemoryPluginState,
  createPluginContext,
  parseConfig,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import {
  startSmtpServer,
  type ReceivedMail,
  type TestSmtpServer,
} from './__fixtures__/smtp-server.js';
import { createEmailDestination } from './destination.js';
import { emailConfigSchema } from './config.js';
import { messageIdFor } from './message-id.js';

let smtp: TestSmtpServer;
let sequence = 0;
const signal = new AbortController().signal;

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.close());

/** The test SMTP servers listen on loopback, which is blocked unless opted in explicitly. */
const LOOPBACK_FAKE = { allow: ['127.0.0.1'] };

function setup(extra: Record<string, unknown> = {}, port = smtp.port) {
  const run = `run-${++sequence}`;
  const config = parseConfig(emailConfigSchema, {
    smtp: { host: '127.0.0.1', port, startTls: 'disabled' },
    ssrf: LOOPBACK_FAKE,
    from: 'Sluice Reports <reports@example.test>',
    headers: { 'X-Test-Run': run },
    ...extra,
  });
  const mails = (): ReceivedMail[] =>
    smtp.received.filter((m) => m.parsed.headers.get('x-test-run') === run);
  return { config, mails };
}

const addresses = (value: unknown) =>
  (
    (Array.isArray(value) ? value : value ? [value] : []) as {
      value: { address: string; name: string }[];
    }[]
  ).flatMap((v) => v.value.map((a) => a.address));

describe('email destination: messages', () => {
  it('sends one e-mail per record with templated fields, recipients from the record and a CSV attachment', async () => {
    const { config, mails } = setup({
      to: ['{{ record.owner }}', 'sales@example.test'],
      cc: '{{ record.cc | default: "" }}',
      bcc: 'audit@example.test',
      replyTo: 'help@example.test',
      subject: 'Deal {{ record.name }} closed ({{ record.amount }} €)',
      text: 'Deal {{ record.name }}: {{ record.amount }}',
      html: '<p>Deal <b>{{ record.name }}</b></p>',
      attachment: { format: 'csv', filename: 'deal-{{ batch.id }}.csv' },
    });
    const destination = createEmailDestination(config, createPluginContext());
    const batch = makeBatch(
      [
        {
          name: 'Acme <script>',
          amount: 1200,
          owner: 'Ann <ann@example.test>',
          cc: 'boss@example.test, vp@example.test',
        },
        { name: 'Zeta', amount: 30, owner: 'zed@example.test', won: true, tags: ['a'] },
      ],
      { id: 'daily-42' },
    );
    await destination.write(batch, { signal });
    await destination.close?.();
    const [first, second] = mails().sort((a, b) =>
      String(a.parsed.subject).localeCompare(String(b.parsed.subject)),
    );
    expect(first!.parsed.subject).toBe('Deal Acme <script> closed (1200 €)');
    expect(first!.parsed.text?.trim()).toBe('Deal Acme <script>: 1200');
    expect(first!.parsed.html).toContain('<b>Acme &lt;script&gt;</b>');
    expect(first!.parsed.messageId).toBe('<daily-42.0@example.test>');
    expect(first!.parsed.headers.get('x-sluice-batch-id')).toBe('daily-42');
    expect(first!.parsed.headers.get('x-sluice-record-index')).toBe('0');
    expect(addresses(first!.parsed.to)).toEqual(['ann@example.test', 'sales@example.test']);
    expect(addresses(first!.parsed.cc)).toEqual(['boss@example.test', 'vp@example.test']);
    expect(addresses(first!.parsed.replyTo)).toEqual(['help@example.test']);
    expect(first!.parsed.headers.get('bcc')).toBeUndefined();
    expect(first!.envelope.to.sort()).toEqual([
      'ann@example.test',
      'audit@example.test',
      'boss@example.test',
      'sales@example.test',
      'vp@example.test',
    ]);
    expect(first!.envelope.from).toBe('reports@example.test');
    const [attachment] = second!.parsed.attachments;
    expect(attachment).toMatchObject({ filename: 'deal-daily-42.csv', contentType: 'text/csv' });
    expect(parse(attachment!.content.toString('utf8'), { columns: true })).toEqual([
      { name: 'Zeta', amount: '30', owner: 'zed@example.test', won: 'true', tags: '["a"]' },
    ]);
    expect(second!.parsed.messageId).toBe('<daily-42.1@example.test>');
  });

  it('sends a digest per batch with a default table of rows and the batch as NDJSON', async () => {
    const { config, mails } = setup({
      mode: 'digest',
      to: 'growth@example.test',
      subject: '{{ count }} channels fell',
      attachment: { format: 'ndjson' },
    });
    const destination = createEmailDestination(config, createPluginContext());
    const records: SluiceRecord[] = [
      { channel: 'email', change: -25 },
      { channel: '<paid>', change: -31, note: { why: 'budget' } },
    ];
    await destination.write(makeBatch(records, { id: 'digest-1', pipeline: 'daily' }), { signal });
    await destination.close?.();
    const [mail] = mails();
    expect(mails()).toHaveLength(1);
    expect(mail!.parsed.subject).toBe('2 channels fell');
    expect(mail!.parsed.messageId).toBe('<digest-1.digest@example.test>');
    expect(mail!.parsed.html).toContain('<th>channel</th><th>change</th><th>note</th>');
    expect(mail!.parsed.html).toContain(
      '<td>&lt;paid&gt;</td><td>-31</td><td>{&quot;why&quot;:&quot;budget&quot;}</td>',
    );
    expect(mail!.parsed.text).toContain(
      '2 records from daily\n\nchannel\tchange\tnote\nemail\t-25\t\n<paid>\t-31\t{"why":"budget"}',
    );
    const ndjson = mail!.parsed.attachments[0]!.content.toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(ndjson).toEqual(records);
  });

  it('a retried batch carries the same Message-IDs, and is skipped within the instance', async () => {
    const { config, mails } = setup({ to: 'ops@example.test', subject: 'r{{ index }}', text: 'x' });
    const batch = makeBatch([{ a: 1 }, { a: 2 }], { id: 'retry-1' });
    const one = createEmailDestination(config, createPluginContext());
    await one.write(batch, { signal });
    await one.write({ ...batch, attempt: 2 }, { signal });
    expect(mails()).toHaveLength(2);
    await one.close?.();
    // A new instance without the engine's plugin state (e.g. embedded, after a restart) cannot
    // know; the duplicate keeps the same Message-ID.
    const two = createEmailDestination(config, createPluginContext());
    await two.write({ ...batch, attempt: 3 }, { signal });
    await two.close?.();
    const ids = mails()
      .map((m) => m.parsed.messageId)
      .sort();
    expect(ids).toEqual([
      '<retry-1.0@example.test>',
      '<retry-1.0@example.test>',
      '<retry-1.1@example.test>',
      '<retry-1.1@example.test>',
    ]);
  });

  it("a take-over after a crash (a new instance, the same plugin state) skips what was sent; a partial retry keeps each record's Message-ID", async () => {
    // Issue 18: the server's store is ctx.state; the repeat comes with the same batch id and record keys.
    const { config, mails } = setup({ to: 'ops@example.test', subject: 'r{{ index }}', text: 'x' });
    const state = createMemoryPluginState();
    const recordKeys = ['daily-mail-run9-3f9c0a21be-r000001', 'daily-mail-run9-3f9c0a21be-r000002'];
    const batch = makeBatch([{ a: 1 }, { a: 2 }], {
      id: 'daily-mail-run9-3f9c0a21be-000001',
      recordKeys,
    });
    const one = createEmailDestination(config, createPluginContext({ state }));
    await one.write(batch, { signal });
    await one.close?.();
    const two = createEmailDestination(config, createPluginContext({ state }));
    await two.write(batch, { signal });
    // A partial retry: another batch id, the second record alone at index 0.
    await two.write(
      { ...batch, id: `${batch.id}-r2`, records: [{ a: 2 }], recordKeys: [recordKeys[1]!] },
      { signal },
    );
    await two.close?.();
    expect(
      mails()
        .map((m) => m.parsed.messageId)
        .sort(),
    ).toEqual(recordKeys.map((k) => `<${k}@example.test>`));
  });

  it('derives Message-IDs that keep distinct batch ids distinct', () => {
    expect(messageIdFor('a/b.1', 'x.test')).toBe('<a=2Fb.1@x.test>');
    expect(messageIdFor('a=2Fb.1', 'x.test')).toBe('<a=3D2Fb.1@x.test>');
    expect(messageIdFor('ä b.digest', 'x.test')).toBe('<=C3=A4=20b.digest@x.test>');
    // A dot-atom never starts or ends with a dot nor has two in a row.
    expect(messageIdFor('.a..b.', 'x.test')).toBe('<=2Ea.=2Eb=2E@x.test>');
  });
});

describe('email destination: bad input and SMTP errors', () => {
  it('template errors name the template and the variable; bad record addresses fail their record', async () => {
    const { config, mails } = setup({
      to: '{{ record.email }}',
      subject: 'Hi {{ record.user.name }}',
      text: 'x',
    });
    const destination = createEmailDestination(config, createPluginContext());
    const err = await destination
      .write(
        makeBatch([
          { email: 'ok@example.test', user: { name: 'A' } },
          { email: 'ok@example.test', user: {} },
          { email: 'x@y', user: { name: 'B' } },
          { user: { name: 'C' } },
          { email: 'a@example.test\r\nBcc: evil@example.test', user: { name: 'D' } },
        ]),
        { signal },
      )
      .catch((e: unknown) => e);
    await destination.close?.();
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2, 3, 4]);
    expect(failures[0]!.error.message).toBe(
      'template subject: variable record.user.name is missing',
    );
    expect((failures[0]!.error as FatalError).details).toEqual({
      field: 'subject',
      variable: 'record.user.name',
    });
    expect(failures[1]!.error.message).toBe('to[0]: "x@y" is not an e-mail address');
    expect(failures[2]!.error.message).toBe('template to[0]: variable record.email is missing');
    expect(failures[3]!.error.message).toContain('line break');
    for (const f of failures) expect(f.error).toBeInstanceOf(FatalError);
    expect(mails()).toHaveLength(1);
  });

  it('a 4xx for one recipient is retryable for that e-mail only', async () => {
    const stop = smtp.rejectRecipients((a) => a === 'busy@example.test', {
      code: 450,
      message: 'mailbox busy',
    });
    try {
      const { config } = setup({ to: '{{ record.to }}', subject: 's', text: 't' });
      const destination = createEmailDestination(config, createPluginContext());
      const err = await destination
        .write(makeBatch([{ to: 'busy@example.test' }, { to: 'fine@example.test' }]), { signal })
        .catch((e: unknown) => e);
      await destination.close?.();
      expect((err as PartialBatchError).failed).toEqual([0]);
      expect((err as PartialBatchError).failures[0]!.error).toBeInstanceOf(RetryableError);
      expect(
        ((err as PartialBatchError).failures[0]!.error as RetryableError).details,
      ).toMatchObject({ smtpReply: 450 });
    } finally {
      stop();
    }
  });

  it('connection refused is retryable', async () => {
    const { config } = setup({
      to: 'a@example.test',
      subject: 's',
      text: 't',
      smtp: { host: '127.0.0.1', port: 1, startTls: 'disabled', connectionTimeoutMs: 2000 },
    });
    const destination = createEmailDestination(config, createPluginContext());
    const err = await destination
      .write(makeBatch([{ a: 1 }, { a: 2 }]), { signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    const check = await destination.check!();
    await destination.close?.();
    expect(check.ok).toBe(false);
    expect(check.message).toContain('the SMTP server is unavailable');
  });
});

describe('email destination: TLS and auth', () => {
  it('STARTTLS required with auth: the session is encrypted and authenticated', async () => {
    const server = await startSmtpServer({ auth: { user: 'sluice', pass: 'pa55word' } });
    try {
      const config = parseConfig(emailConfigSchema, {
        smtp: {
          host: '127.0.0.1',
          port: server.port,
          startTls: 'required',
          auth: { user: 'sluice', pass: 'pa55word' },
          tls: { rejectUnauthorized: false },
        },
        ssrf: LOOPBACK_FAKE,
        from: 'reports@example.test',
        to: 'ops@example.test',
        subject: 's',
        text: 't',
      });
      const destination = createEmailDestination(config, createPluginContext());
      await expect(destination.check!()).resolves.toMatchObject({ ok: true });
      await destination.write(makeBatch([{ a: 1 }]), { signal });
      await destination.close?.();
      expect(server.received).toHaveLength(1);
      expect(server.received[0]).toMatchObject({ secure: true, user: 'sluice' });
    } finally {
      await server.close();
    }
  });

  it('implicit TLS (secure) works', async () => {
    const server = await startSmtpServer({ secure: true });
    try {
      const config = parseConfig(emailConfigSchema, {
        smtp: {
          host: '127.0.0.1',
          port: server.port,
          secure: true,
          tls: { rejectUnauthorized: false },
        },
        ssrf: LOOPBACK_FAKE,
        from: 'reports@example.test',
        to: 'ops@example.test',
        subject: 's',
        text: 't',
      });
      const destination = createEmailDestination(config, createPluginContext());
      await destination.write(makeBatch([{ a: 1 }]), { signal });
      await destination.close?.();
      expect(server.received[0]?.secure).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('a wrong password is fatal for the batch and is not echoed', async () => {
    const server = await startSmtpServer({ auth: { user: 'sluice', pass: 'right' } });
    try {
      const config = parseConfig(emailConfigSchema, {
        smtp: {
          host: '127.0.0.1',
          port: server.port,
          startTls: 'required',
          auth: { user: 'sluice', pass: 'wrong-secret' },
          tls: { rejectUnauthorized: false },
        },
        ssrf: LOOPBACK_FAKE,
        from: 'reports@example.test',
        to: 'ops@example.test',
        subject: 's',
        text: 't',
      });
      const destination = createEmailDestination(config, createPluginContext());
      const err = await destination
        .write(makeBatch([{ a: 1 }, { a: 2 }]), { signal })
        .catch((e: unknown) => e);
      await destination.close?.();
      expect(err).toBeInstanceOf(FatalError);
      expect((err as Error).message).toContain('refused the credentials');
      expect((err as Error).message).not.toContain('wrong-secret');
    } finally {
      await server.close();
    }
  });

  it('STARTTLS required but not offered is fatal (never falls back to plain text)', async () => {
    const server = await startSmtpServer({ startTls: false });
    try {
      const config = parseConfig(emailConfigSchema, {
        smtp: { host: '127.0.0.1', port: server.port, startTls: 'required' },
        ssrf: LOOPBACK_FAKE,
        from: 'reports@example.test',
        to: 'ops@example.test',
        subject: 's',
        text: 't',
      });
      const destination = createEmailDestination(config, createPluginContext());
      const err = await destination
        .write(makeBatch([{ a: 1 }]), { signal })
        .catch((e: unknown) => e);
      await destination.close?.();
      expect(err).toBeInstanceOf(FatalError);
      expect((err as FatalError).message).toContain('TLS with the SMTP server failed');
      expect(server.received).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});

describe('email destination: outgoing-connection guard on smtp.host', () => {
  it('refuses loopback and metadata hosts without opt-in: coded error, no TCP connection; sends with it', async () => {
    const proxy = await startTcpProxy(smtp.port, '127.0.0.1', { listenHost: '::' });
    try {
      // smtp.host is not a URL: numeric forms reach getaddrinfo as written and are judged by what they resolve to.
      for (const host of [
        '127.0.0.1',
        'localhost',
        '::1',
        '::ffff:127.0.0.1',
        '::127.0.0.1',
        '2130706433',
        '0x7f.1',
        '127.1',
        '169.254.169.254',
      ]) {
        const config = parseConfig(emailConfigSchema, {
          smtp: { host, port: proxy.port, startTls: 'disabled', connectionTimeoutMs: 2000 },
          from: 'reports@example.test',
          to: 'ops@example.test',
          subject: 's',
          text: 't',
        });
        const destination = createEmailDestination(config, createPluginContext());
        const err = await destination
          .write(makeBatch([{ a: 1 }]), { signal })
          .catch((e: unknown) => e);
        expect(err, host).toBeInstanceOf(FatalError);
        expect(err, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'smtp.host' },
        });
        expect((err as Error).message, host).toMatch(
          /^smtp\.host: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        expect(await destination.check!(), host).toMatchObject({
          ok: false,
          message: expect.stringMatching(/refusing to connect/),
        });
        await destination.close?.();
      }
      expect(proxy.accepted).toBe(0);

      const { config, mails } = setup({
        to: 'ops@example.test',
        subject: 'guarded',
        text: 't',
        smtp: { host: '127.0.0.1', port: proxy.port, startTls: 'disabled' },
      });
      const destination = createEmailDestination(config, createPluginContext());
      await destination.write(makeBatch([{ a: 1 }]), { signal });
      await destination.close?.();
      expect(proxy.accepted).toBeGreaterThan(0);
      expect(mails()).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});
