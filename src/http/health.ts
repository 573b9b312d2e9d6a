import type { Plugin } from 'graphql-yoga';
import type { ConfigIssue } from '../config/index.ts';
import type { Db } from '../sql/index.ts';
import type { Drain } from './drain.ts';

/** Raised inside the probe's transaction so that nothing it wrote is kept. */
class ProbeDone extends Error {}

/** A seq no real record reaches: the probe's row can never collide with the chain, and never commits anyway. */
const PROBE_SEQ = '9223372036854775807';

/**
 * Whether this broker can answer: the database reachable, an audit record insertable (grants, constraints,
 * triggers, a read-only server all say no here, deferred ones included), and the DP ledger readable. The probe
 * writes one row and rolls it back, without the chain's head lock, so it never delays a real record.
 */
async function probeReady(db: Db): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO audit_log (seq, recorded_at, request_id, actor_kind, operation_kind, decision, tables, fields, row_count,
           subject_count, subjects_digest, jurisdictions, findings, details, prev_hash, hash)
         VALUES ($1::int8, now(), 'readiness-probe', 'probe', 'probe', 'denied', '{}', '{}', 0, 0, '', '{}', '[]', '{}', '', '')`,
        [PROBE_SEQ],
      );
      await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
      await tx.query('SELECT 1 FROM dp_budget LIMIT 1');
      throw new ProbeDone();
    });
  } catch (error) {
    if (!(error instanceof ProbeDone)) throw error;
  }
}

/** The rules version a broker serves under, and what is wrong with the files on disk that it refused. */
export interface RulesInForce {
  /** The stored version's id (rules_versions), or null before it is stored. */
  version: number | null;
  hash: string;
  /** Problems of files on disk that were not taken; the version above stays in force meanwhile. */
  pending: readonly ConfigIssue[];
}

function rulesReport(rules: RulesInForce) {
  return { version: rules.version, hash: rules.hash, pending: rules.pending.map(({ file, line, field, message }) => ({ file, line, field, message })) };
}

/**
 * `/livez`: the process answers. `/readyz` (and `/healthz`, its older name): a load balancer may send traffic —
 * the probe passes and the broker is not draining. Failures say which, never the database's message. Both also
 * say which rules version is in force and any refused edit pending on disk: still ready, but a steward must look.
 */
export function useHealthRoutes(db: Db, drain: Drain, rules?: () => RulesInForce): Plugin {
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname === '/livez') return endResponse(Response.json({ status: 'ok' }));
      if (url.pathname !== '/readyz' && url.pathname !== '/healthz') return;
      const report = rules && { rules: rulesReport(rules()) };
      if (drain.draining) return endResponse(Response.json({ status: 'draining', database: db.kind, ...report }, { status: 503 }));
      const started = performance.now();
      try {
        await probeReady(db);
        endResponse(Response.json({ status: 'ok', database: db.kind, latencyMs: Math.round(performance.now() - started), ...report }));
      } catch {
        endResponse(Response.json({ status: 'unavailable', database: db.kind, ...report }, { status: 503 }));
      }
    },
  };
}
