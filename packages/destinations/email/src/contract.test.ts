import { afterAll, beforeAll } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { testDestination } from '@sluice/testing';
import { startSmtpServer, type TestSmtpServer } from './__fixtures__/smtp-server.js';
import { emailDestination } from './plugin.js';
import type { EmailConfig } from './config.js';

let smtp: TestSmtpServer;
let sequence = 0;
beforeAll(async () => {
  smtp = await startSmtpServer();
  // Mailbox-level refusal: a 5xx for one recipient fails that e-mail only.
  smtp.rejectRecipients((address) => address.startsWith('bounce@'), {
    code: 550,
    message: 'mailbox unavailable',
  });
});
afterAll(() => smtp.close());

/** Each contract test tags its e-mails with its own header; the records travel as NDJSON attachments. */
const config = (extra: Record<string, unknown> = {}) => ({
  smtp: { host: '127.0.0.1', port: smtp.port, startTls: 'disabled' },
  ssrf: { allow: ['127.0.0.1'] }, // the test SMTP server listens on loopback: opt in explicitly
  from: 'Sluice <sluice@example.test>',
  to: '{{ record.email | default: "team@example.test" }}',
  subject: 'Record {{ record.id }}',
  text: 'Record {{ record.id }} is attached.',
  attachment: { format: 'ndjson' },
  headers: { 'X-Test-Run': `contract-${++sequence}` },
  ...extra,
});

const readBack = async (c: EmailConfig): Promise<SluiceRecord[]> =>
  smtp.received
    .filter((m) => m.parsed.headers.get('x-test-run') === c.headers['X-Test-Run'])
    .flatMap((m) =>
      m.parsed.attachments.flatMap((a) =>
        a.content
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as SluiceRecord),
      ),
    );

const base = {
  smtp: { host: 'h' },
  from: 'a@example.test',
  to: 'b@example.test',
  subject: 's',
  text: 't',
};
const invalidConfigs = [
  { name: 'missing smtp host', config: { ...base, smtp: {} }, path: 'smtp.host' },
  { name: 'invalid from', config: { ...base, from: 'not an address' }, path: 'from' },
  {
    name: 'invalid static recipient',
    config: { ...base, to: ['ok@example.test', 'nope@'] },
    path: 'to[1]',
  },
  { name: 'invalid single recipient', config: { ...base, to: 'nope@' }, path: 'to[0]' },
  {
    name: 'header injection in from',
    config: { ...base, from: 'a@example.test\r\nBcc: x@evil.test' },
    path: 'from',
  },
  { name: 'no body', config: { ...base, text: undefined }, path: 'text' },
  {
    name: 'subject with unknown filter',
    config: { ...base, subject: '{{ record.x | shout }}' },
    path: 'subject',
  },
  {
    name: 'record recipient in digest mode',
    config: { ...base, mode: 'digest', to: ['ok@example.test', '{{ record.email }}'] },
    path: 'to[1]',
  },
  {
    name: 'unknown startTls',
    config: { ...base, smtp: { host: 'h', startTls: 'maybe' } },
    path: 'smtp.startTls',
  },
  {
    name: 'attachment format',
    config: { ...base, attachment: { format: 'xml' } },
    path: 'attachment.format',
  },
  {
    name: 'non X- header',
    config: { ...base, headers: { Subject: 'x' } },
    path: 'headers.Subject',
  },
  { name: 'typo in a key', config: { ...base, subjct: 'x' }, path: 'subjct' },
];

const transientFailure = {
  inject: () =>
    smtp.failMailFrom({ code: 451, message: 'local error in processing, try again later' }),
};

testDestination<EmailConfig>({
  name: 'email (one e-mail per record)',
  definition: emailDestination,
  config: () => config(),
  readBack,
  invalidConfigs,
  transientFailure,
  partialFailure: {
    records: [
      { id: 1, email: 'a@example.test' },
      { id: 2, email: 'not an address' },
      { id: 3 },
      { id: 4, email: 'bounce@example.test' },
    ],
    failed: [1, 3],
  },
});

testDestination<EmailConfig>({
  name: 'email (digest)',
  definition: emailDestination,
  config: () =>
    config({
      mode: 'digest',
      to: 'team@example.test',
      subject: '{{ count }} records',
      text: undefined,
    }),
  readBack,
  invalidConfigs,
  transientFailure,
});
