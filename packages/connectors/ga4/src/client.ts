import { BetaAnalyticsDataClient } from '@google-analytics/data';
import { OAuth2Client } from 'google-auth-library';
import type { Ga4Config } from './config.js';

/**
 * Builds the GA4 Data API client (REST transport) for a config.
 *
 * @example
 * ```ts
 * const client = createGa4Client(config);
 * ```
 */
export function createGa4Client(config: Ga4Config): BetaAnalyticsDataClient {
  const options: NonNullable<ConstructorParameters<typeof BetaAnalyticsDataClient>[0]> = {
    fallback: true,
  };
  if (config.apiEndpoint !== undefined) {
    const url = new URL(config.apiEndpoint);
    options.apiEndpoint = url.hostname;
    options.port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
    options.protocol = url.protocol.replace(':', '');
  }
  const credentials = config.credentials;
  if (credentials.type === 'access-token') {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: credentials.accessToken });
    options.authClient = authClient as unknown as typeof options.authClient;
  } else if (credentials.type === 'service-account') {
    options.credentials = {
      client_email: credentials.clientEmail,
      private_key: credentials.privateKey,
    };
  }
  return new BetaAnalyticsDataClient(options);
}
