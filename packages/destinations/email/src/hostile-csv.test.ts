import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginContext, parseConfig } from '@sluice/core';
import {
  expectedCsvCell,
  hostileColumns,
  hostileRecords,
  makeBatch,
  readCsvWithPython,
} from '@sluice/testing';
import { startSmtpServer, type TestSmtpServer } from './__fixtures__/smtp-server.js';
import { createEmailDestination } from './destination.js';
import { emailConfigSchema } from './config.js';

let smtp: TestSmtpServer;
let sequence = 0;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.close());

// The attachment travels through smtp-server, is parsed by mailparser and read by Python csv.
describe('email destination: hostile CSV attachment read back by Python csv', () => {
  for (const attachment of [
    { format: 'csv' as const, nullAs: '\\N' },
    { format: 'csv' as const, nullAs: 'NULL', escapeFormulas: true },
  ]) {
    it(JSON.stringify(attachment), async () => {
      const run = `hostile-${++sequence}`;
      const config = parseConfig(emailConfigSchema, {
        smtp: { host: '127.0.0.1', port: smtp.port, startTls: 'disabled' },
        ssrf: { allow: ['127.0.0.1'] },
        from: 'reports@example.test',
        to: 'growth@example.test',
        mode: 'digest',
        subject: '{{ count }} records',
        text: 'see attachment',
        headers: { 'X-Test-Run': run },
        attachment,
      });
      const destination = createEmailDestination(config, createPluginContext());
      await destination.write(makeBatch(hostileRecords, { id: run }), {
        signal: new AbortController().signal,
      });
      await destination.close?.();
      const mails = smtp.received.filter((m) => m.parsed.headers.get('x-test-run') === run);
      expect(mails).toHaveLength(1);
      const [file] = mails[0]!.parsed.attachments;
      expect(file!.contentType).toBe('text/csv');
      const rows = readCsvWithPython(file!.content);
      expect(rows[0]).toEqual([...hostileColumns]);
      expect(rows).toHaveLength(hostileRecords.length + 1);
      expect(rows.slice(1)).toEqual(
        hostileRecords.map((r) => hostileColumns.map((c) => expectedCsvCell(r[c], attachment))),
      );
      expect(rows[1]![hostileColumns.indexOf('empty')]).toBe('');
      expect(rows[1]![hostileColumns.indexOf('nothing')]).toBe(attachment.nullAs);
    });
  }
});
