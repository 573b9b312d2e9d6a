import { afterAll, beforeAll } from 'vitest';
import { startTestBroker, type TestBroker } from './broker.ts';
import type { TestDatabase } from './databases.ts';
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
