// Raw HTTP for the transport tests of test/security: requests whose body is streamed (or held
// back) by the test, from a chosen local address, and the server child's resident memory.
// fetch cannot do these: it neither holds a body back nor reports how much of it was sent.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Body bytes the client had handed to the socket when the response head arrived. */
  sentAtResponse: number;
  /** Milliseconds from the request to the response head. */
  ms: number;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  /** A body sent at once (Content-Length set from it). */
  body?: string | Buffer;
  /**
   * A body of this many bytes streamed in 1 MiB chunks, honouring back-pressure, with
   * Content-Length (unless `chunked`). Writing stops once the response head arrived.
   */
  streamBytes?: number;
  /** With `streamBytes`: send `Transfer-Encoding: chunked` instead of a Content-Length. */
  chunked?: boolean;
  /** With `streamBytes`: after sending them, keep the request open instead of ending it. */
  thenHold?: boolean;
  /** Declare a Content-Length but send no body at all: the answer must come from the headers alone. */
  holdBody?: number;
  /** The client's source address (any 127.x address reaches a server on 127.0.0.1). */
  localAddress?: string;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
}

const CHUNK = Buffer.alloc(1 << 20, 0x61);

/**
 * One HTTP/1.1 request over a fresh connection. Resolves with the answer even when the server
 * closes the connection while the client is still sending (it answers early on purpose).
 */
export function rawRequest(base: string, options: RawRequest): Promise<RawAnswer> {
  const url = new URL(base);
  const headers: OutgoingHttpHeaders = { connection: 'close', ...options.headers };
  if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
  if (options.holdBody !== undefined) headers['content-length'] = options.holdBody;
  if (options.streamBytes !== undefined) {
    if (options.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = options.streamBytes;
  }
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    let settled = false;
    const finish = (result: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'POST',
        path: options.path,
        headers,
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        answered = true;
        const sentAtResponse = sent;
        const ms = Date.now() - started;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = () =>
          finish({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            sentAtResponse,
            ms,
          });
        res.on('end', done);
        res.on('error', done);
        res.on('close', done);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(
        new Error(
          `no answer to ${options.method ?? 'POST'} ${options.path} within ${options.timeoutMs ?? 30_000} ms (${sent} body bytes sent)`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
    // An EPIPE/ECONNRESET after the answer arrived is the server refusing the rest of the body.
    req.on('error', (error) => {
      if (!answered) finish(error);
    });
    if (options.body !== undefined) {
      sent = Buffer.byteLength(options.body);
      req.end(options.body);
      return;
    }
    if (options.holdBody !== undefined) {
      req.flushHeaders();
      return;
    }
    const total = options.streamBytes ?? 0;
    if (total === 0) {
      req.end();
      return;
    }
    const pump = () => {
      while (sent < total && !answered && !req.destroyed) {
        const piece = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      if (sent >= total && !req.destroyed && !options.thenHold) req.end();
    };
    pump();
  });
}

/** Parses an answer's JSON error body, failing with the raw text when it is not one. */
export function errorOf(answer: RawAnswer): {
  code: string;
  message: string;
  details: { path?: string; message: string }[];
} {
  try {
    return (
      JSON.parse(answer.text) as {
        error: { code: string; message: string; details: { path?: string; message: string }[] };
      }
    ).error;
  } catch {
    throw new Error(`not a JSON error body (HTTP ${answer.status}): ${answer.text.slice(0, 300)}`);
  }
}

/** Resident set size of a process, in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/** Samples `rssMiB(pid)` every 20 ms while `work` runs; returns the work's result and the peak. */
export async function peakRssDuring<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; before: number; peak: number }> {
  const before = rssMiB(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 20);
  try {
    const result = await work();
    peak = Math.max(peak, rssMiB(pid));
    return { result, before, peak };
  } finally {
    clearInterval(timer);
  }
}

/** Standard Webhooks headers for `body` signed with a `whsec_` secret. */
export function standardWebhookHeaders(
  secret: string,
  body: string,
  id = `msg_${randomUUID()}`,
): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${signature}`,
  };
}
