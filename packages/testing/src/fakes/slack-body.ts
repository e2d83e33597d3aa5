/**
 * Request-body parsing of the Slack Web API fake: the official SDK sends
 * `application/x-www-form-urlencoded` bodies where structured arguments (`blocks`,
 * `attachments`, `metadata`) are JSON strings; other clients may send JSON.
 */
import type { IncomingMessage } from 'node:http';

/** The largest body the fake accepts (Slack itself caps messages far below this). */
export const SLACK_FAKE_MAX_BODY_BYTES = 2 * 1024 * 1024;

/** A parsed Slack Web API call. */
export interface SlackCallArguments {
  /** Every argument as sent (form values are strings; JSON bodies keep their types). */
  args: Record<string, unknown>;
  /** `form` or `json`, from the request's content type. */
  encoding: 'form' | 'json' | 'none';
}

/** Reads the whole body of a request, refusing more than {@link SLACK_FAKE_MAX_BODY_BYTES}. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > SLACK_FAKE_MAX_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses a body by its content type, plus any query-string arguments (Slack accepts both).
 *
 * @example
 * ```ts
 * parseArguments('channel=C1&text=hi', 'application/x-www-form-urlencoded', new URLSearchParams());
 * // { args: { channel: 'C1', text: 'hi' }, encoding: 'form' }
 * ```
 */
export function parseArguments(
  body: string,
  contentType: string | undefined,
  query: URLSearchParams,
): SlackCallArguments {
  const args: Record<string, unknown> = Object.fromEntries(query);
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    const parsed = body.trim() === '' ? {} : (JSON.parse(body) as unknown);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new SyntaxError('JSON body must be an object');
    return { args: { ...args, ...(parsed as Record<string, unknown>) }, encoding: 'json' };
  }
  if (type === 'application/x-www-form-urlencoded') {
    for (const [key, value] of new URLSearchParams(body)) args[key] = value;
    return { args, encoding: 'form' };
  }
  return { args, encoding: 'none' };
}

/**
 * Reads a structured argument that arrives as a JSON string in form bodies (or as the value in
 * JSON bodies). Returns `undefined` when absent, throws a `SyntaxError` when it does not parse.
 */
export function structuredArgument(value: unknown): unknown {
  if (value === undefined || value === '') return undefined;
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

/** Reads a boolean argument the way Slack does (`true`/`1` in forms, a boolean in JSON). */
export function booleanArgument(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  return value === 'true' || value === '1';
}
