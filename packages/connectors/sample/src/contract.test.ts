import { testConnector } from '@sluice/testing';
import { sampleConnector } from './connector.js';

testConnector({
  name: 'sample',
  definition: sampleConnector,
  config: () => ({ perRun: 1000, total: 1000, pageSize: 64 }),
  key: (r) => String(r.seq),
  expectedCount: 1000,
});
