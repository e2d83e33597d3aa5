import * as v from 'valibot';

/** Names of pipelines, connections and destinations as they appear in URLs. */
export const NameParam = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][\w.-]{0,127}$/, 'a name of letters, digits, _ . - (1–128)'),
);

/** `limit` and `cursor` query parameters of every list route. */
export const PageQuery = {
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'a whole number'),
      v.transform(Number),
      v.number(),
      v.minValue(1),
      v.maxValue(1000),
    ),
    '50',
  ),
  cursor: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(512))),
};

/** A JSON object of anything (configs and parameters are validated by their own rules). */
export const JsonObjectSchema = v.record(v.string(), v.unknown());

/** The error body every route answers failures with. */
export const ErrorBodySchema = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.array(v.object({ path: v.optional(v.string()), message: v.string() })),
  }),
});

/** Standard error responses, for the OpenAPI document. */
export const errorResponses = {
  400: {
    description: 'Invalid request: `error.details` names each bad field',
    schema: ErrorBodySchema,
  },
  401: { description: 'Missing or invalid API key', schema: ErrorBodySchema },
  403: { description: 'The API key lacks the required scope', schema: ErrorBodySchema },
  404: { description: 'Not found', schema: ErrorBodySchema },
  // Answered before the route runs (http/app.ts): a body that is not JSON, and the rate limit.
  415: {
    description:
      'The request has a body that is not JSON (`content-type` other than `application/json`)',
    schema: ErrorBodySchema,
  },
  429: {
    description: 'Over the `server.rateLimit.perMinute` budget of this client; see `Retry-After`',
    schema: ErrorBodySchema,
  },
} as const;

/** A page of a list. */
export const pageOf = <T extends v.GenericSchema>(item: T) =>
  v.object({ items: v.array(item), nextCursor: v.nullable(v.string()) });
