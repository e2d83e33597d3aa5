/**
 * The `ssrf` option every plugin that connects somewhere from config accepts, as one valibot
 * fragment: the same keys, validation, defaults and JSON Schema descriptions everywhere.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { allowEntryProblem } from './address-policy.js';

const allowEntry = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = allowEntryProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

/**
 * The `ssrf` object: `enabled` (default `true`) and `allow` (default `[]`).
 *
 * @example
 * ```ts
 * v.parse(ssrfSchema, { allow: ['10.20.0.0/16', 'hooks.internal'] }); // { enabled: true, allow: [...] }
 * ```
 */
export const ssrfSchema = v.pipe(
  v.strictObject({
    enabled: v.optional(
      v.pipe(
        v.boolean(),
        v.description(
          'Block loopback, private, link-local and other internal addresses (after DNS resolution, on every connection and redirect). `false` turns the protection off for this plugin only.',
        ),
      ),
      true,
    ),
    allow: v.optional(
      v.pipe(
        v.array(allowEntry),
        v.description(
          'Exceptions let through despite the block: CIDR ranges (`10.20.0.0/16`), addresses (`127.0.0.1`), host names (`hooks.internal`) or suffixes (`*.svc.cluster.local`). Loopback is opened only by an address or CIDR entry covering it, or by `localhost` itself, never by another host name.',
        ),
        v.metadata({ examples: [['10.20.0.0/16', 'hooks.internal']] }),
      ),
      [],
    ),
  }),
  v.description(
    'Protection against connections to internal networks (SSRF): on by default; list exceptions in `allow`.',
  ),
);

/**
 * The optional `ssrf` key to put in a plugin's config object (defaults to `{}`, i.e. protected).
 *
 * @example
 * ```ts
 * const schema = v.strictObject({ apiUrl: v.optional(v.string(), 'https://slack.com/api/'), ssrf: ssrfOption });
 * const policy = createAddressPolicy(v.parse(schema, raw).ssrf);
 * ```
 */
export const ssrfOption = v.optional(ssrfSchema, {});

/** The parsed `ssrf` option. */
export type SsrfConfig = v.InferOutput<typeof ssrfSchema>;
