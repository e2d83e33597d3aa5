// Every response the API test suite receives is checked against the OpenAPI document the server
// serves (/api/v1/openapi.json): the status must be documented for the route and method, the
// documented required headers present, the content type documented, and a JSON body valid
// against the documented schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). An undocumented
// status or shape fails the test that received it.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

interface OpenApiResponse {
  description?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema?: object }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, OpenApiResponse> }>>;
  components?: Record<string, unknown>;
}

/** One response that did not match the document, with where and why. */
export interface ResponseProblem {
  method: string;
  path: string;
  status: number;
  problem: string;
}

export interface ResponseValidator {
  /** Checks a response (its body is read from a clone); returns the problems found. */
  check(method: string, url: string, response: Response): Promise<ResponseProblem[]>;
  /** Every problem seen so far. */
  readonly problems: ResponseProblem[];
}

export function createResponseValidator(doc: OpenApiDocument): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const routes = Object.entries(doc.paths).map(([template, operations]) => ({
    template,
    pattern: new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
    ),
    operations,
  }));
  const compiled = new Map<object, ValidateFunction>();
  const validatorOf = (schema: object) => {
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile({ ...schema, components: doc.components ?? {} });
      compiled.set(schema, validate);
    }
    return validate;
  };
  const problems: ResponseProblem[] = [];

  return {
    problems,
    async check(method, url, response) {
      const path = new URL(url).pathname;
      // The document itself (a hidden route) is what the others are checked against.
      if (path === '/api/v1/openapi.json') return [];
      const found: ResponseProblem[] = [];
      const fail = (problem: string) =>
        found.push({ method, path, status: response.status, problem });
      // Fastify declares a route template once, so the most literal match wins.
      const placeholders = (template: string) => template.split('{').length - 1;
      const route = routes
        .filter((r) => r.pattern.test(path))
        .sort((a, b) => placeholders(a.template) - placeholders(b.template))[0];
      const operation = route?.operations[method.toLowerCase()];
      if (!route || !operation) {
        fail('route and method are not in the OpenAPI document');
      } else {
        const responses = operation.responses ?? {};
        const documented =
          responses[String(response.status)] ??
          responses[`${String(response.status)[0]}XX`] ??
          responses.default;
        if (!documented) {
          fail(
            `status ${response.status} is not documented (documented: ${Object.keys(responses).join(', ')})`,
          );
        } else {
          for (const [name, header] of Object.entries(documented.headers ?? {})) {
            if (header.required && !response.headers.has(name))
              fail(`required header ${name} is missing`);
          }
          const text = await response.clone().text();
          const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
          const media = documented.content ?? {};
          if (text !== '' && Object.keys(media).length > 0) {
            const entry = media[contentType] ?? media['*/*'];
            if (!entry)
              fail(
                `content type ${contentType} is not documented (documented: ${Object.keys(media).join(', ')})`,
              );
            else if (entry.schema && contentType.endsWith('json')) {
              const validate = validatorOf(entry.schema);
              if (!validate(JSON.parse(text)))
                fail(`body does not match the schema: ${ajv.errorsText(validate.errors)}`);
            }
          }
        }
      }
      problems.push(...found);
      return found;
    },
  };
}
