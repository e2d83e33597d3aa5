/**
 * What a Slack channel reference may look like: a conversation id (`C0123ABCD`, `G...`, `D...`,
 * or a user id `U...` for the app's direct message) or a channel name with or without `#`.
 *
 * @packageDocumentation
 */

const CHANNEL_ID = /^[CGDU][A-Z0-9]{6,}$/;
const CHANNEL_NAME = /^#?[\p{Ll}\p{Lo}\p{N}_-]{1,80}$/u;

/**
 * The problem with a channel reference, or `undefined` when it is usable.
 *
 * @example
 * ```ts
 * channelProblem('#alerts');    // undefined
 * channelProblem('C0123ABCD');  // undefined
 * channelProblem('Alerts Team'); // "\"Alerts Team\" is not a channel id (C0123ABCD) or name (#alerts: lower-case, no spaces, at most 80 characters)"
 * ```
 */
export function channelProblem(channel: string): string | undefined {
  if (CHANNEL_ID.test(channel) || CHANNEL_NAME.test(channel)) return undefined;
  return `${JSON.stringify(channel)} is not a channel id (C0123ABCD) or name (#alerts: lower-case, no spaces, at most 80 characters)`;
}

/**
 * Tells whether a reference is a conversation id (which `conversations.info` accepts).
 *
 * @example
 * ```ts
 * isChannelId('C0123ABCD'); // true
 * isChannelId('#alerts');   // false
 * ```
 */
export function isChannelId(channel: string): boolean {
  return CHANNEL_ID.test(channel);
}
