import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, createBroker } from '../../src/broker.ts';
import { issueToken, parseTtl } from '../../src/identity/index.ts';
import type { KeyholeMetrics } from '../../src/ops/metrics.ts';
import type { Db } from '../../src/sql/index.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GraphQLReply {
  status: number;
  /** The answer's request id (its audit record's), from x-request-id; the body's `extensions.requestId` is checked equal and left out. */
  requestId?: string;
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, any> }>; extensions?: Record<string, any> };
}

export interface TestBroker {
  broker: Broker;
  dataDir: string;
  token(agent: string, purpose?: string, ttl?: string): Promise<string>;
  /** POSTs a GraphQL request as an agent holding `token` (or none). */
  graphql(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLReply>;
  close(): Promise<void>;
}

/** Starts a broker for one test over `db`, with its own data dir (keys, secrets). */
export async function startTestBroker(
  db: Db,
  options: { root?: string; env?: NodeJS.ProcessEnv; dataDir?: string; metrics?: KeyholeMetrics } = {},
): Promise<TestBroker> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'keyhole-test-')));
  const env = { KEYHOLE_BASELINE_INTERVAL_MS: '0', ...options.env };
  const broker = await createBroker({ root: options.root ?? PROJECT_ROOT, db, dataDir, env, metrics: options.metrics });
  return {
    broker,
    dataDir,
    token: (agent, purpose, ttl = '1h') =>
      issueToken({ keys: broker.tokenKeys, registry: broker.config.registry, subject: agent, purpose, ttlSeconds: parseTtl(ttl) }),
    async graphql(token, query, variables) {
      const response = await broker.fetch(
        new Request('http://keyhole.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query, variables }),
        }),
      );
      const body = (await response.json()) as GraphQLReply['body'];
      const requestId = response.headers.get('x-request-id') ?? '';
      const { requestId: inBody, ...extensions } = body.extensions ?? {};
      if (inBody !== requestId) throw new Error(`extensions.requestId ${inBody} differs from x-request-id ${requestId}`);
      // Left out so that tests can compare two answers: the id differs from one request to the next by design.
      if (Object.keys(extensions).length > 0) body.extensions = extensions;
      else delete body.extensions;
      return { status: response.status, requestId, body };
    },
    async close() {
      broker.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BrokerPair {
  first: TestBroker;
  second: TestBroker;
  /** Closes both brokers and removes their data dir; the database and the project stay the caller's. */
  close: () => Promise<void>;
}

/** Two brokers of one deployment watching one project: one database, one data dir (the same secrets, one audit chain key). */
export async function startBrokerPair(db: Db, root: string): Promise<BrokerPair> {
  const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-broker-pair-'));
  const first = await startTestBroker(db, { root, dataDir });
  const second = await startTestBroker(db, { root, dataDir });
  return {
    first,
    second,
    close: async () => {
      await first.close();
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
