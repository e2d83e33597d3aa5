/**
 * Small helpers shared by the signature schemes: header lookup, strict parsing of signed
 * timestamps, constant-time comparison and HMAC.
 *
 * @packageDocumentation
 */
import { createHash, createHmac } from 'node:crypto';
import { reject, type WebhookFailure, type WebhookHeaders } from './types.js';

/**
 * Reads one header case-insensitively; a repeated header yields its first value.
 *
 * @example
 * ```ts
 * header({ 'Webhook-Id': 'msg_1' }, 'webhook-id'); // 'msg_1'
 * ```
 */
export function header(headers: WebhookHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    const first = typeof value === 'string' ? value : value[0];
    return first === undefined ? undefined : first.trim();
  }
  return undefined;
}

/**
 * Reads one signature header exactly as received: no trimming, and a header sent more than once
 * is refused (Node joins repeated lines with ", ", a list comes from other HTTP layers), so
 * what is signed, what is checked and what identifies the delivery are one and the same text.
 * `value` is `undefined` when the header is absent.
 *
 * @example
 * ```ts
 * exactHeader({ 'Webhook-Id': 'msg_1' }, 'webhook-id'); // { ok: true, value: 'msg_1' }
 * exactHeader({ 'webhook-id': ['a', 'b'] }, 'webhook-id').ok; // false: sent twice
 * ```
 */
export function exactHeader(
  headers: WebhookHeaders,
  name: string,
): { ok: true; value: string | undefined } | WebhookFailure {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    values.push(...(typeof value === 'string' ? [value] : value));
  }
  if (values.length > 1)
    return reject('invalid-header', `${name} was sent ${values.length} times: send it once`);
  return { ok: true, value: values[0] };
}

// The canonical decimal text of a non-negative integer: no sign, space, leading zero, fraction,
// exponent or non-ASCII digit. 16 digits bound the work; Number.isSafeInteger bounds the value.
const CANONICAL_INTEGER = /^(?:0|[1-9][0-9]{0,15})$/;

/**
 * Parses a signed timestamp header once, strictly: only the canonical decimal text of a safe
 * integer is accepted, so one instant has exactly one spelling. Without this, `0<ts>` and
 * `00<ts>` verify against a signature over `<ts>` but read as other deliveries.
 *
 * @example
 * ```ts
 * canonicalTimestamp({ 'x-slack-request-timestamp': '1531420618' }, 'X-Slack-Request-Timestamp', 'seconds'); // { ok: true, value: 1531420618 }
 * canonicalTimestamp({ 'x-slack-request-timestamp': '01531420618' }, 'X-Slack-Request-Timestamp', 'seconds').ok; // false
 * ```
 */
export function canonicalTimestamp(
  headers: WebhookHeaders,
  name: string,
  unit: 'seconds' | 'milliseconds',
): { ok: true; value: number } | WebhookFailure {
  const read = exactHeader(headers, name);
  if (!read.ok) return read;
  if (read.value === undefined || read.value === '')
    return reject('missing-header', `missing header ${name}`);
  const value = CANONICAL_INTEGER.test(read.value) ? Number(read.value) : Number.NaN;
  if (!Number.isSafeInteger(value) || String(value) !== read.value) {
    return reject(
      'invalid-header',
      `${name} must be whole ${unit} since the epoch in plain decimal digits (no sign, spaces, leading zeros, fraction or exponent)`,
    );
  }
  return { ok: true, value };
}

/**
 * Longest delivery id the store keeps (`WebhookDeliveryStore.recordDelivery` refuses longer ones).
 *
 * @example
 * ```ts
 * if (id.length > MAX_DELIVERY_ID_LENGTH) return reject('invalid-header', 'webhook-id is too long');
 * ```
 */
export const MAX_DELIVERY_ID_LENGTH = 500;

// The constant-time compare is core's, the one the Standard Webhooks implementation uses.
export { constantTimeEqual } from '@sluice/core/standard-webhooks';

/**
 * HMAC-SHA256 of the concatenated parts.
 *
 * @example
 * ```ts
 * hmacSha256('secret', ['v0:', ts, ':', body]).toString('hex');
 * ```
 */
export function hmacSha256(
  key: string | Uint8Array,
  parts: readonly (string | Uint8Array)[],
): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/**
 * A short, stable digest used as a delivery id when a scheme has no id of its own. Pass the
 * canonical values (the parsed timestamp, the computed signature), never header text, so every
 * spelling of one request has one id.
 *
 * @example
 * ```ts
 * digestId('slack', [String(timestampSeconds), expectedSignature]); // 'slack:3f1c…'
 * ```
 */
export function digestId(prefix: string, parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return `${prefix}:${hash.digest('hex').slice(0, 40)}`;
}

/**
 * Whether `timestampMs` lies within `toleranceSeconds` of `nowMs`, in either direction.
 *
 * @example
 * ```ts
 * withinTolerance(Date.now() - 1000, Date.now(), 300); // true
 * ```
 */
export function withinTolerance(
  timestampMs: number,
  nowMs: number,
  toleranceSeconds: number,
): boolean {
  return Math.abs(nowMs - timestampMs) <= toleranceSeconds * 1000;
}
