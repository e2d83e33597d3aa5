// The scheduler suite on the shared PostgreSQL, in a database of its own.
import { createStore } from '@sluice/store';
import { defineSchedulerSuite } from './__fixtures__/scheduler-suite.js';
import { createTestDatabase, dropTestDatabase } from './__fixtures__/postgres.js';

const DATABASE = 'sluice_sched_test';

defineSchedulerSuite('PostgreSQL', async () => {
  const url = await createTestDatabase(DATABASE);
  const store = await createStore({ url, schema: 'sluice_sched' });
  await store.migrate();
  return {
    stores: store,
    boss: { connectionString: url, max: 5 },
    close: async () => {
      await store.close();
      await dropTestDatabase(DATABASE);
    },
  };
});
