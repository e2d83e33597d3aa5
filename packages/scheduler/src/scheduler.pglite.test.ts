// The scheduler suite on embedded PGlite, through @sluice/store's pg-boss adapter.
import { createStore } from '@sluice/store';
import type { ConstructorOptions } from 'pg-boss';
import { defineSchedulerSuite } from './__fixtures__/scheduler-suite.js';

defineSchedulerSuite('PGlite', async () => {
  const store = await createStore({ dataDir: 'memory://', schema: 'sluice_sched' });
  await store.migrate();
  return {
    stores: store,
    boss: store.pgBossDb() as ConstructorOptions,
    close: () => store.close(),
  };
});
