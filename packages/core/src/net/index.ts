/**
 * `@sluice/core/net`: the one outgoing-connection guard every plugin that connects somewhere from
 * config uses (webhook, Slack, Pushgateway, S3, SMTP, HubSpot, Google endpoints). Kept out of the
 * main `@sluice/core` entry so plugins that open no connection never load it.
 *
 * - {@link createAddressPolicy}: which addresses are blocked (every IPv6 form included) and the
 *   per-plugin allow-list; {@link ssrfOption}: the matching `ssrf` config option.
 * - {@link createGuardedLookup}: the low-level mechanism, a `net.LookupFunction` that checks what
 *   DNS returned and hands only allowed addresses to `connect()`.
 * - Helpers that give it to each kind of client: {@link createGuardedConnector} (undici),
 *   {@link createGuardedHttpAgent} / {@link createGuardedHttpsAgent} / {@link createGuardedAgents}
 *   (`http`/`https`), {@link connectGuardedSocket} (a ready TCP socket); for SDKs that accept
 *   none of these, {@link preflightUrl} checks the host right before each call.
 *
 * @example
 * ```ts
 * import { createAddressPolicy, createGuardedAgents, findBlockedAddressError } from '@sluice/core/net';
 *
 * const agents = createGuardedAgents(createAddressPolicy(config.ssrf), { keepAlive: true });
 * try { await push(config.url, { agent: agents.for(config.url) }); }
 * catch (err) { throw findBlockedAddressError(err)?.forField('url') ?? err; }
 * ```
 *
 * @packageDocumentation
 */
export {
  BlockedAddressError,
  allowEntryProblem,
  classifyAddress,
  createAddressPolicy,
  findBlockedAddressError,
  type AddressPolicy,
  type AddressPolicyOptions,
  type AddressVerdict,
} from './address-policy.js';
export {
  checkLiteralHost,
  connectGuardedSocket,
  createGuardedAgents,
  createGuardedConnector,
  createGuardedHttpAgent,
  createGuardedHttpsAgent,
  createGuardedLookup,
  preflightUrl,
  resolveAllowed,
  type ConnectorLike,
  type GuardedAgentOptions,
  type GuardedSocketOptions,
  type ResolveAll,
} from './guarded-connect.js';
export { ssrfOption, ssrfSchema, type SsrfConfig } from './schema.js';
