// The webhook destination's `webhook-id` survives a partial retry: a Standard Webhooks receiver
// built with the official `standardwebhooks` package verifies every signature and de-duplicates
// on `webhook-id`. It processes each request and then answers 500 for some records the first
// time (as if it timed out after processing); the router retries only those records, in a batch
// with another id and other indexes, and the receiver must recognise every retry as a duplicate.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  createMemoryMetrics,
  createPluginContext,
  parseConfig,
  type DeadLetterSink,
  type SluiceRecord,
} from '@sluice/core';
import { compileRouteTable, createRouter, recordKey } from '@sluice/router';
import { createWebhookDestination, webhookConfigSchema } from '@sluice/destinations-webhook';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

interface Receiver {
  url: string;
  /** Every request: its webhook-id, whether it was new, and the record id. */
  deliveries: { webhookId: string; fresh: boolean; id: number }[];
  processed: Map<string, SluiceRecord>;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

async function startReceiver(failFirstTime: (id: number) => boolean): Promise<Receiver> {
  const webhook = new Webhook(SECRET);
  const processed = new Map<string, SluiceRecord>();
  const deliveries: Receiver['deliveries'] = [];
  const server: Server = createServer((req, res) => {
    void body(req).then((payload) => {
      let record: SluiceRecord;
      try {
        record = webhook.verify(payload, req.headers as Record<string, string>) as SluiceRecord;
      } catch {
        res.writeHead(401).end();
        return;
      }
      const webhookId = String(req.headers['webhook-id']);
      const fresh = !processed.has(webhookId);
      const id = Number(record.id);
      deliveries.push({ webhookId, fresh, id });
      if (fresh) processed.set(webhookId, record);
      // Processed, but the sender sees a failure the first time: it must retry with the same id.
      if (fresh && failFirstTime(id)) res.writeHead(500).end('timed out after processing');
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    processed,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const noDeadLetters: DeadLetterSink = {
  write: async (letters) => {
    throw new Error(`unexpected dead letters: ${JSON.stringify(letters.map((l) => l.error))}`);
  },
};

describe('webhook-id is stable across a partial retry (standardwebhooks receiver)', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver((id) => id % 3 === 1);
  });
  afterAll(() => receiver.close());

  it('retries only the failed records with their first webhook-id; the receiver drops each retry as a duplicate', async () => {
    const ctx = createPluginContext({ metrics: createMemoryMetrics() });
    const config = parseConfig(webhookConfigSchema, {
      url: receiver.url,
      mode: 'record',
      signing: { secret: SECRET },
      ssrf: { allow: ['127.0.0.1'] },
      requestConcurrency: 4,
    });
    const instance = createWebhookDestination(config, ctx);
    const table = compileRouteTable([{ name: 'all', to: ['hooks'] }], {
      ctx,
      destinations: ['hooks'],
    });
    const router = createRouter({
      table,
      destinations: {
        hooks: {
          instance,
          capabilities: instance.capabilities ?? {},
          policy: {
            batch: { maxRecords: 10 },
            retry: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 },
          },
        },
      },
      deadLetters: noDeadLetters,
      ctx,
      pipeline: 'daily',
      runId: 'run-7',
      source: 'crm',
    });
    const records = Array.from({ length: 25 }, (_, id) => ({ id, name: `r${id}` }));
    await router.push(records);
    await router.close();
    await instance.close?.();

    const failed = records.filter((r) => r.id % 3 === 1).length;
    // Every record processed exactly once, under the router's record key.
    expect(receiver.processed.size).toBe(records.length);
    expect(
      [...receiver.processed.values()].map((r) => r.id).sort((a, b) => Number(a) - Number(b)),
    ).toEqual(records.map((r) => r.id));
    for (const [webhookId, record] of receiver.processed) {
      // Source position: the run, the checkpoint digest of "no state yet", the 1-based offset.
      expect(webhookId).toBe(
        recordKey(
          'daily',
          'hooks',
          `run-7-74234e98af-${String(Number(record.id) + 1).padStart(6, '0')}`,
        ),
      );
    }
    // The retries: one per failed record, each with the webhook-id of its first delivery.
    const repeats = receiver.deliveries.filter((d) => !d.fresh);
    expect(receiver.deliveries).toHaveLength(records.length + failed);
    expect(repeats).toHaveLength(failed);
    for (const repeat of repeats) {
      expect(repeat.id % 3).toBe(1);
      expect(receiver.deliveries.find((d) => d.fresh && d.id === repeat.id)!.webhookId).toBe(
        repeat.webhookId,
      );
    }
  });

  it('a take-over that re-reads the source from its checkpoint sends the same webhook-ids: the receiver processes nothing twice', async () => {
    // Issue 16/18: the killed attempt delivered pages 1 and 2 but only page 1's checkpoint was
    // committed; attempt 2 (same run id) resumes from it and re-reads page 2.
    const ctx = createPluginContext({ metrics: createMemoryMetrics() });
    const config = parseConfig(webhookConfigSchema, {
      url: receiver.url,
      mode: 'record',
      signing: { secret: SECRET },
      ssrf: { allow: ['127.0.0.1'] },
    });
    const table = compileRouteTable([{ name: 'all', to: ['hooks'] }], {
      ctx,
      destinations: ['hooks'],
    });
    const page1 = Array.from({ length: 7 }, (_, i) => ({ id: 100 + i * 3 }));
    const page2 = Array.from({ length: 7 }, (_, i) => ({ id: 200 + i * 3 }));
    const attempt = async (
      pages: { records: typeof page1; state: { page: number } }[],
      resumeFrom?: { page: number },
    ) => {
      const instance = createWebhookDestination(config, ctx);
      const router = createRouter({
        table,
        destinations: {
          hooks: {
            instance,
            capabilities: instance.capabilities ?? {},
            policy: {
              batch: { maxRecords: 3 },
              retry: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 },
            },
          },
        },
        deadLetters: noDeadLetters,
        ctx,
        pipeline: 'daily',
        runId: 'run-8',
        source: 'crm',
      });
      router.atCheckpoint(resumeFrom);
      for (const page of pages) {
        await router.push(page.records);
        router.atCheckpoint(page.state);
      }
      await router.close();
      await instance.close?.();
    };
    const before = receiver.processed.size;
    await attempt([
      { records: page1, state: { page: 1 } },
      { records: page2, state: { page: 2 } },
    ]);
    expect(receiver.processed.size - before).toBe(14);
    const deliveriesBefore = receiver.deliveries.length;
    await attempt([{ records: page2, state: { page: 2 } }], { page: 1 });
    const retaken = receiver.deliveries.slice(deliveriesBefore);
    // Every record of page 2 was sent again ...
    expect(new Set(retaken.map((d) => d.id))).toEqual(new Set(page2.map((r) => r.id)));
    // ... and every one was a duplicate of what the first attempt delivered.
    expect(retaken.filter((d) => d.fresh)).toEqual([]);
    expect(receiver.processed.size - before).toBe(14);
  });
});
