import { after, before } from 'node:test';
import pg from 'pg';
import { PostgresLogStore } from '../src/roomlog/PostgresLogStore.ts';
import { describeLogStore } from './logStoreSuite.ts';
import { postgresSkipReason, startPostgres, type TestPostgres } from './postgres.ts';

const skip = postgresSkipReason();
let server: TestPostgres | undefined;
let databases = 0;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await server?.close();
});

describeLogStore(
  'PostgreSQL',
  async () => {
    if (!server) throw new Error('postgres is not running');
    // A fresh database per test, so each starts empty.
    const name = `t${++databases}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = server.url.replace(/\/parley$/, `/${name}`);
    let store = await PostgresLogStore.open({ url });
    return {
      store,
      async reopen() {
        await store.close();
        store = await PostgresLogStore.open({ url });
        return store;
      },
      async cleanup() {
        await store.close();
      },
    };
  },
  { skip },
);
