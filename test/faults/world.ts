import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrokerSecrets } from '../../src/config/index.ts';
import { createPgDb } from '../../src/sql/index.ts';
import { loadWorld } from '../support/fixtures.ts';
import { type BrokerProcess, startBrokerProcess } from './broker-process.ts';
import { createThrowawayCluster, type ThrowawayCluster } from './cluster.ts';
import { type Answer, type AuditCheck, checkAudit, type LoadTarget } from './load.ts';

/** A throwaway cluster holding the small world, and a data dir for the broker processes run on it. */
export interface FaultWorld {
  cluster: ThrowawayCluster;
  dataDir: string;
  /** Starts a broker process on the cluster, with extra environment settings. */
  startBroker(env?: NodeJS.ProcessEnv): Promise<BrokerProcess>;
  /** Load aimed at whichever broker `current` returns. */
  target(current: () => BrokerProcess): Promise<LoadTarget>;
  audit(answers: readonly Answer[]): Promise<AuditCheck>;
  close(): Promise<void>;
}

export async function createFaultWorld(): Promise<FaultWorld> {
  const cluster = await createThrowawayCluster();
  const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-faults-data-'));
  try {
    const db = createPgDb({ connectionString: cluster.url, max: 2 });
    await loadWorld(db).finally(() => db.close());
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return {
    cluster,
    dataDir,
    startBroker: (env = {}) => startBrokerProcess({ DATABASE_URL: cluster.url, ...env }, dataDir),
    async target(current) {
      // Every broker of a world shares its data dir, hence its token keys: tokens outlive a broker restart.
      const tokens = new Map<string, string>();
      for (const agent of ['support-bot', 'analytics-bot']) tokens.set(agent, await current().token(agent));
      return { base: () => current().base, token: (agent) => tokens.get(agent)! };
    },
    async audit(answers) {
      const { auditKey } = await loadBrokerSecrets(dataDir, {});
      return checkAudit(cluster.url, auditKey, answers);
    },
    async close() {
      await cluster.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The counts the issue asks a fault's note to give, printed with the suite's output. */
export function report(fault: string, check: AuditCheck, extra: Record<string, unknown> = {}): void {
  console.log(
    `[fault] ${fault}: requests ${check.sent}, answers received ${check.answers}, with data ${check.withData}, records found ${check.recordsFound}, missing ${check.missing}, without any record ${check.answeredWithoutRecord}, ` +
      `ledger ε ${check.ledgerEpsilon} / recorded ε ${check.recordedEpsilon}, chain ${check.chainOk ? 'verifies' : 'BROKEN'}` +
      Object.entries(extra)
        .map(([key, value]) => `, ${key} ${value}`)
        .join(''),
  );
}
