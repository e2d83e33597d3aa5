/**
 * The store's secret rule (a field that holds a secret must hold a `${env:NAME}` or
 * `${file:/path}` reference) is `@sluice/core`'s, shared with the configuration's validation so
 * both refuse the same fields: re-exported here for the store's API.
 */
export {
  assertNoPlaintextSecrets,
  findPlaintextSecrets,
  isSecretKey,
  isSecretReference,
} from '@sluice/core';
