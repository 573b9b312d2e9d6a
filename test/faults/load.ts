import pg from 'pg';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { createPgDb } from '../../src/sql/index.ts';

/** One answer a client received: what it says and the request id it names. */
export interface Answer {
  requestId: string | null;
  status: number;
  withData: boolean;
  code: string | null;
  /** No HTTP answer at all (connection refused or reset). */
  failed: boolean;
}

export const ROWS_QUERY = '{ customers(limit: 3) { id residency } }';
export const dpQuery = (i: number) => `{ customers_aggregate(epsilon: 0.01, where: { segment: { ne: "s${i}" } }) { groups { count { value } } } }`;

export interface LoadTarget {
  base: () => string;
  token: (agent: string) => string;
}

async function send(base: string, token: string, query: string): Promise<Answer> {
  try {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
    return {
      requestId: response.headers.get('x-request-id'),
      status: response.status,
      withData: response.status === 200 && body.data != null && !body.errors,
      code: body.errors?.[0]?.extensions?.code ?? null,
      failed: false,
    };
  } catch {
    return { requestId: null, status: 0, withData: false, code: null, failed: true };
  }
}

/**
 * `concurrency` clients sending row reads (support-bot) and DP aggregates (analytics-bot) back to back until
 * `stop` resolves; bounded, so a fault cannot make the load itself the problem.
 */
export async function driveLoad(target: LoadTarget, concurrency: number, stop: Promise<unknown>): Promise<Answer[]> {
  const answers: Answer[] = [];
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  let n = 0;
  const client = async (worker: number) => {
    while (!stopped) {
      const i = n++;
      const dp = worker % 2 === 1;
      answers.push(await send(target.base(), target.token(dp ? 'analytics-bot' : 'support-bot'), dp ? dpQuery(i) : ROWS_QUERY));
      // An outage answers at once; the pause keeps the clients from spinning on it.
      if (answers.at(-1)!.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, worker) => client(worker)));
  return answers;
}

export interface AuditCheck {
  /** Requests sent, answered or not. */
  sent: number;
  /** HTTP answers received. */
  answers: number;
  withData: number;
  recordsFound: number;
  missing: number;
  /** Answers of any kind naming a request id that no committed record has. */
  answeredWithoutRecord: number;
  ledgerEpsilon: number;
  recordedEpsilon: number;
  chainOk: boolean;
}

/** Every answer with data against the committed log; the DP ledger against its records; the chain verified. */
export async function checkAudit(url: string, auditKey: Uint8Array, answers: readonly Answer[]): Promise<AuditCheck> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ request_id: string; decision: string }>('SELECT request_id, decision FROM audit_log');
    const allowed = new Set(rows.filter((row) => row.decision === 'allowed').map((row) => row.request_id));
    const recorded = new Set(rows.map((row) => row.request_id));
    const withData = answers.filter((answer) => answer.withData);
    const found = withData.filter((answer) => answer.requestId !== null && allowed.has(answer.requestId)).length;
    const ledger = await client.query<{ epsilon: string | null }>("SELECT pure_epsilon::text AS epsilon FROM dp_budget WHERE scope = 'agent:analytics-bot'");
    const spent = await client.query<{ epsilon: string | null }>(
      "SELECT coalesce(sum((privacy_cost->>'epsilon')::numeric), 0)::text AS epsilon FROM audit_log WHERE actor_id = 'analytics-bot' AND decision = 'allowed'",
    );
    const db = createPgDb({ connectionString: url, max: 1 });
    const chain = await verifyAuditChain(db, auditKey).finally(() => db.close());
    return {
      sent: answers.length,
      answers: answers.filter((answer) => !answer.failed).length,
      withData: withData.length,
      recordsFound: found,
      missing: withData.length - found,
      ledgerEpsilon: Number(ledger.rows[0]?.epsilon ?? 0),
      answeredWithoutRecord: answers.filter((answer) => answer.requestId !== null && !recorded.has(answer.requestId)).length,
      recordedEpsilon: Number(spent.rows[0]!.epsilon),
      chainOk: chain.ok,
    };
  } finally {
    await client.end();
  }
}
