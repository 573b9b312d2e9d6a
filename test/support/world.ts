import { afterAll, beforeAll } from 'vitest';
import { startTestBroker, type TestBroker } from './broker.ts';
import { createPgDb } from '../../src/sql/index.ts';
import { createPostgresTestDatabase, type TestDatabase } from './databases.ts';
import { loadWorld } from './fixtures.ts';

export interface World {
  readonly t: TestDatabase;
  readonly kh: TestBroker;
}

/**
 * For one suite: a fresh database (from `create`, one of ENGINES) holding the test world, and a broker over it,
 * both removed after the suite. `root` gives a project copy (e.g. other budgets) instead of the shipped files.
 */
export function useWorld(create: () => Promise<TestDatabase>, root?: () => Promise<string>): World {
  const world = {} as { t: TestDatabase; kh: TestBroker };
  beforeAll(async () => {
    world.t = await create();
    await loadWorld(world.t.db);
    world.kh = await startTestBroker(world.t.db, root ? { root: await root() } : {});
  });
  afterAll(async () => {
    await world.kh?.close();
    await world.t?.drop();
  });
  return world;
}

export interface TwoBrokers {
  readonly t: TestDatabase;
  readonly brokers: readonly [TestBroker, TestBroker];
}

/**
 * For one suite: a PostgreSQL database with the test world and two brokers over it, each with its own connection
 * pool and the same keys (data dir), as two replicas behind a load balancer.
 */
export function useTwoBrokers(root?: () => Promise<string>): TwoBrokers {
  const world = {} as { t: TestDatabase; brokers: [TestBroker, TestBroker] };
  beforeAll(async () => {
    world.t = await createPostgresTestDatabase();
    await loadWorld(world.t.db);
    const options = root ? { root: await root() } : {};
    const first = await startTestBroker(world.t.db, options);
    const second = await startTestBroker(createPgDb({ connectionString: world.t.url!, max: 8 }), { ...options, dataDir: first.dataDir });
    world.brokers = [first, second];
  });
  afterAll(async () => {
    await world.brokers?.[1].broker.db.close();
    await world.brokers?.[1].close();
    await world.brokers?.[0].close();
    await world.t?.drop();
  });
  return world;
}
