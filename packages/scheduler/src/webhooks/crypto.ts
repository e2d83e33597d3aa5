/**
 * Small crypto helpers shared by the signature schemes: header lookup, constant-time comparison
 * and HMAC.
 *
 * @packageDocumentation
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookHeaders } from './types.js';

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
 * Compares two byte strings in time that depends only on their lengths, so an attacker cannot
 * learn a signature byte by byte from response times. Different lengths compare unequal (the
 * length of a signature is public).
 *
 * @example
 * ```ts
 * constantTimeEqual(Buffer.from(expected), Buffer.from(given));
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    // Still spend one comparison so the early exit does not stand out.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * HMAC-SHA256 of the concatenated parts.
 *
 * @example
 * ```ts
 * hmacSha256('secret', ['v0:', ts, ':', body]).toString('hex');
 * ```
 */
export function hmacSha256(key: string | Uint8Array, parts: readonly (string | Uint8Array)[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/**
 * A short, stable digest used as a delivery id when a scheme has no id of its own.
 *
 * @example
 * ```ts
 * digestId('slack', [timestamp, signature]); // 'slack:3f1c…'
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
export function withinTolerance(timestampMs: number, nowMs: number, toleranceSeconds: number): boolean {
  return Math.abs(nowMs - timestampMs) <= toleranceSeconds * 1000;
}
