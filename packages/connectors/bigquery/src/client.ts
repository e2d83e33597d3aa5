import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import type { BigQueryConfig } from './config.js';

/**
 * Builds the SDK client for a config. The SDK's own retries are off: the connector retries with
 * the engine's clock and abort signal instead, so a rate limit never blocks a shutdown.
 *
 * @example
 * ```ts
 * const bigquery = createBigQueryClient(config);
 * ```
 */
export function createBigQueryClient(config: BigQueryConfig): BigQuery {
  const options: BigQueryOptions = {
    projectId: config.projectId,
    autoRetry: false,
    ...(config.apiEndpoint === undefined
      ? {}
      : { apiEndpoint: config.apiEndpoint.replace(/\/+$/, '') }),
    ...(config.location === undefined ? {} : { location: config.location }),
  };
  const credentials = config.credentials;
  if (credentials.type === 'access-token') {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: credentials.accessToken });
    options.authClient = authClient;
  } else if (credentials.type === 'service-account') {
    options.credentials = {
      client_email: credentials.clientEmail,
      private_key: credentials.privateKey,
    };
  }
  return new BigQuery(options);
}
