import type { Metrics } from '@sluice/core';
import type { SluiceServer } from '../runtime/sluice.js';

/** What route modules need from the running server. */
export interface RoutesDeps {
  sluice: SluiceServer;
  metrics: Metrics;
  version: string;
}
