/**
 * Turns a verified webhook body into run parameters: the parsed payload as `input`, or a list
 * of records.
 *
 * @packageDocumentation
 */
import {
  MAX_JSON_DEPTH,
  isRecord,
  jsonDepthExceeds,
  type JsonObject,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';
import { header } from './crypto.js';
import type { WebhookHeaders } from './types.js';

/** The parsed payload, or why it could not be parsed. */
export type ParsedPayload = { ok: true; value: JsonValue } | { ok: false; message: string };

// By content type: JSON, NDJSON (one JSON value per line, as a list), form fields (an object of
// strings, as Slack slash commands send), or else text (`{ text }`).
function parseBody(headers: WebhookHeaders, rawBody: Buffer): ParsedPayload {
  const type = (header(headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const text = rawBody.toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    if (
      type === 'application/x-ndjson' ||
      type === 'application/ndjson' ||
      type === 'application/jsonl'
    ) {
      return {
        ok: true,
        value: text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as JsonValue),
      };
    }
    if (type === 'application/x-www-form-urlencoded') {
      const out: JsonObject = {};
      for (const [key, value] of new URLSearchParams(text)) out[key] = value;
      return { ok: true, value: out };
    }
    if (type === '' || type === 'application/json' || type.endsWith('+json')) {
      return { ok: true, value: JSON.parse(text) as JsonValue };
    }
    return { ok: true, value: { text } };
  } catch (error) {
    return {
      ok: false,
      message: `body is not valid ${type || 'JSON'}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * Deepest nesting of objects and arrays a webhook payload may have.
 *
 * @example
 * ```ts
 * parseWebhookBody(headers, body); // { ok: false, message: `body nests deeper than ${MAX_PAYLOAD_DEPTH} levels` } when deeper
 * ```
 */
export const MAX_PAYLOAD_DEPTH = MAX_JSON_DEPTH;

/**
 * Parses a webhook body by its content type (JSON, NDJSON, form, else `{ text }`). A payload
 * nested deeper than {@link MAX_PAYLOAD_DEPTH} levels is refused: storing it as run parameters
 * would overflow the stack of `JSON.stringify`.
 *
 * @example
 * ```ts
 * parseWebhookBody({ 'content-type': 'application/json' }, Buffer.from('[{"id":1}]')); // { ok: true, value: [{ id: 1 }] }
 * ```
 */
export function parseWebhookBody(headers: WebhookHeaders, rawBody: Buffer): ParsedPayload {
  const parsed = parseBody(headers, rawBody);
  if (parsed.ok && jsonDepthExceeds(parsed.value, MAX_PAYLOAD_DEPTH)) {
    return { ok: false, message: `body nests deeper than ${MAX_PAYLOAD_DEPTH} levels` };
  }
  return parsed;
}

/**
 * The records a payload carries: an array of objects, a single object, or `{ records: [...] }`.
 * Returns a message naming the first element that is not an object.
 *
 * @example
 * ```ts
 * payloadRecords([{ id: 1 }, { id: 2 }]); // { ok: true, records: [{ id: 1 }, { id: 2 }] }
 * ```
 */
export function payloadRecords(
  value: JsonValue,
): { ok: true; records: SluiceRecord[] } | { ok: false; message: string } {
  const list = Array.isArray(value)
    ? value
    : isRecord(value) && Array.isArray(value.records)
      ? value.records
      : [value];
  const records: SluiceRecord[] = [];
  for (const [index, item] of list.entries()) {
    if (!isRecord(item)) return { ok: false, message: `records[${index}]: expected a JSON object` };
    records.push(item);
  }
  return { ok: true, records };
}
