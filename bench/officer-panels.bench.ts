/**
 * Every officer panel at a million audit records (issue 22): a PostgreSQL database holding the demo data set and
 * a log filled through the real writer (chained, hashed, summaries kept by its triggers), kept between runs under
 * a name that says its size, then each question the dashboard asks timed through the officer GraphQL API.
 * BENCH_OFFICER_RECORDS sets the log's size (1,000,000), BENCH_OFFICER_SCALE the demo scale (5: 50,000 customers).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type AuditDraft, appendAuditRecords, KnownPseudonyms, subjectPseudonym, verifyAuditChainFromPoint } from '../src/audit/index.ts';
import { createBroker } from '../src/broker.ts';
import { seedDemo } from '../src/demo/index.ts';
import { issueToken, parseTtl } from '../src/identity/index.ts';
import { createPgDb, type Db, migrate } from '../src/sql/index.ts';
import { PROJECT_ROOT } from './support/servers.ts';
import { median, ms } from './support/stats.ts';

const RECORDS = Number(process.env.BENCH_OFFICER_RECORDS ?? 1_000_000);
const SCALE = Number(process.env.BENCH_OFFICER_SCALE ?? 5);
const CUSTOMERS = SCALE * 10_000;
const FILL_BATCH = 5_000;
const DAYS = 30;
const RUNS = 3;
const TARGET_MS = 1_000;
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Fixed keys: a database filled by an earlier run still verifies, and its subjects are found by the broker. */
const benchKey = (name: string) => createHash('sha256').update(`keyhole-officer-bench:${name}`).digest();
const AUDIT_KEY = benchKey('audit');
const SUBJECT_KEY = benchKey('subject');

const AGENTS = [
  { id: 'support-bot', purpose: 'customer_service', location: 'SG', tables: ['customers'], field: 'email' },
  { id: 'fraud-bot', purpose: 'fraud_detection', location: 'EU-DE', tables: ['transactions'], field: 'amount' },
  { id: 'analytics-bot', purpose: 'analytics', location: 'US-CA', tables: ['transactions'], field: 'amount' },
  { id: 'kyc-bot', purpose: 'kyc', location: 'SG', tables: ['customers'], field: 'national_id' },
] as const;
const JURISDICTIONS = ['SG', 'EU-DE', 'EU-FR', 'US-CA', 'CN', 'IN', 'AU', 'JP'] as const;

/** Record n of the log: the agents' mix of answers, refusals, DP releases, findings and withheld rows over DAYS days. */
function draft(n: number, start: number): AuditDraft {
  const agent = AGENTS[n % AGENTS.length]!;
  const refused = n % 17 === 0;
  const subjects = refused || agent.id === 'analytics-bot' ? 0 : 1 + (n % 9);
  const customer = (i: number) => 1 + ((n * 7 + i * 1_237) % CUSTOMERS);
  return {
    recordedAt: new Date(start + Math.floor((n / RECORDS) * DAYS * 86_400_000)),
    requestId: `officer-bench-${n}`,
    actorKind: 'agent',
    actorId: agent.id,
    purpose: agent.purpose,
    actorLocation: agent.location,
    operationKind: 'query',
    operationName: null,
    operationHash: 'a'.repeat(64),
    decision: refused ? 'denied' : 'allowed',
    code: refused ? 'FIELD_NOT_VISIBLE' : null,
    reason: null,
    tables: [...agent.tables],
    fields: [{ table: agent.tables[0], field: agent.field, mask: 'mask_email', rule: 'masking-rules/customers.yaml:12' }],
    rowCount: subjects,
    subjects: new Map(
      Array.from({ length: subjects }, (_, i) => [subjectPseudonym(SUBJECT_KEY, 'customer', customer(i)), JURISDICTIONS[customer(i) % JURISDICTIONS.length]!]),
    ),
    privacyCost: agent.id === 'analytics-bot' ? { epsilon: 0.5 } : null,
    findings: n % 5 === 0 ? [{ check: 'cross_border', outcome: 'flag', jurisdiction: 'EU-FR', rule: 'gdpr.transfer' }] : [],
    details: n % 23 === 0 ? { withheld: [{ table: 'customers', rows: 2, jurisdictions: ['CN'] }] } : {},
  };
}

async function asAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

/** The bench's database, filled once: a later run with the same sizes reuses it. */
async function filledDatabase(): Promise<{ db: Db; fillSeconds: number | null }> {
  const name = `keyhole_bench_officer_${RECORDS}_s${SCALE}`;
  const exists = await asAdmin(async (admin) => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
  if (!exists) await asAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createPgDb({ connectionString: url.toString(), max: 4 });
  await migrate(db);
  const head = Number((await db.query<{ seq: number }>('SELECT seq FROM audit_head WHERE id = 1')).rows[0]?.seq ?? 0);
  if (exists && head >= RECORDS) return { db, fillSeconds: null };
  // A fill cut short leaves a log the next run cannot trust: start it over.
  await db.exec("TRUNCATE audit_subject_lists, audit_log, subject_keys; UPDATE audit_head SET seq = 0, hash = 'genesis', key_epoch = key_epoch + 1");
  if ((await db.query('SELECT 1 FROM customers LIMIT 1').catch(() => ({ rows: [] }))).rows.length === 0) await seedDemo(db, { scale: SCALE });
  const started = performance.now();
  const start = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - (DAYS - 1) * 86_400_000;
  const known = new KnownPseudonyms();
  for (let written = 0; written < RECORDS; written += FILL_BATCH) {
    const drafts = Array.from({ length: Math.min(FILL_BATCH, RECORDS - written) }, (_, i) => draft(written + i, start));
    const scope = known.scope();
    await db.transaction((tx) => appendAuditRecords(tx, AUDIT_KEY, drafts, scope));
    scope.commit();
    if (written % 100_000 === 0) console.error(`  officer bench: ${written.toLocaleString('en-US')} records`);
  }
  for (const table of ['audit_log', 'audit_subject_lists', 'audit_summary', 'audit_flow_summary', 'audit_subject_reach', 'customers']) {
    await db.exec(`VACUUM ANALYZE ${table}`);
  }
  return { db, fillSeconds: (performance.now() - started) / 1000 };
}

const FILTER_FIELDS = {
  accessCount: 'accessCount(filter: $filter)',
  accessLog: 'accessLog(filter: $filter, limit: 50, offset: 0) { seq recordedAt actorId decision fields { table field mask } rowCount jurisdictions }',
  accessesByDay: 'accessesByDay(filter: $filter) { day actorKind actorId requests }',
  decisionBreakdown: 'decisionBreakdown(filter: $filter) { decision code count }',
  agentSummaries: 'agentSummaries(filter: $filter) { actorKind agent location requests allowed denied errors rows distinctSubjects withheldRows epsilonSpent }',
  privacyBudgets: 'privacyBudgets(filter: $filter) { note agents { name epsilonSpent } datasets { name epsilonSpent } }',
  crossBorderFlows: 'crossBorderFlows(filter: $filter, byAgent: true) { agent agentLocation subjectJurisdiction records subjects crossBorder }',
  specialCategoryAccess: 'specialCategoryAccess(filter: $filter) { agent table field mask records rows }',
  withheldRows: 'withheldRows(filter: $filter) { actorKind agent table jurisdictions records rows }',
  findingCounts: 'findingCounts(filter: $filter) { check outcome jurisdiction findings }',
  findingGroups: 'findingGroups(filter: $filter, limit: 100) { agent check outcome jurisdiction findings records newFindings }',
} as const;

export default async function officerPanelsBench(): Promise<string> {
  const loadBefore = loadavg();
  const { db, fillSeconds } = await filledDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'keyhole-officer-bench-'));
  const base64 = (key: Uint8Array) => Buffer.from(key).toString('base64');
  const broker = await createBroker({
    root: PROJECT_ROOT,
    db,
    dataDir,
    env: { KEYHOLE_AUDIT_KEY: base64(AUDIT_KEY), KEYHOLE_SUBJECT_KEY: base64(SUBJECT_KEY), KEYHOLE_BASELINE_INTERVAL_MS: '0' },
  });
  try {
    const token = await issueToken({ keys: broker.tokenKeys, registry: broker.config.registry, subject: 'dpo', ttlSeconds: parseTtl('1h') });
    const ask = async (query: string, variables: Record<string, unknown> = {}) => {
      const started = performance.now();
      const response = await broker.fetch(
        new Request('http://keyhole.bench/officer/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        }),
      );
      const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
      if (response.status !== 200 || body.errors) throw new Error(`officer query answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
      return { ms: performance.now() - started, data: body.data! };
    };
    const timed = async (query: string, variables?: Record<string, unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push((await ask(query, variables)).ms);
      return median(times);
    };
    // As the dashboard asks by default: the last 30 days up to tomorrow, agents and anonymous callers.
    const today = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()));
    const filter = {
      from: new Date(today.getTime() - (DAYS - 1) * 86_400_000).toISOString(),
      to: new Date(today.getTime() + 86_400_000).toISOString(),
      actorKinds: ['agent', 'anonymous'],
    };
    const rows: Array<[string, number]> = [];
    for (const [panel, field] of Object.entries(FILTER_FIELDS)) {
      rows.push([panel, await timed(`query ($filter: AuditFilter) { ${field} }`, { filter })]);
    }
    rows.push([
      'the whole Dashboard request (all of the above)',
      await timed(`query ($filter: AuditFilter) { ${Object.values(FILTER_FIELDS).join(' ')} }`, { filter }),
    ]);
    const customer = (
      await db.query<{ email: string; national_id: string; full_name: string; birth_date: string }>(
        "SELECT email, national_id, full_name, to_char(birth_date, 'YYYY-MM-DD') AS birth_date FROM customers WHERE id = 42",
      )
    ).rows[0]!;
    const seen = 'query ($subject: SubjectIdentifier!) { whoHasSeen(subject: $subject) { outcome agents accesses { seq } } }';
    rows.push(['whoHasSeen by e-mail', await timed(seen, { subject: { email: customer.email.toUpperCase() } })]);
    rows.push(['whoHasSeen by national id', await timed(seen, { subject: { nationalId: customer.national_id } })]);
    rows.push(['whoHasSeen by name and birth date', await timed(seen, { subject: { name: customer.full_name, birthDate: customer.birth_date } })]);
    const chain = '{ auditChainStatus { ok checked verifiedFrom verifiedThrough } }';
    // The full walk outlasts an officer request's deadline at this size: it runs as `keyhole audit verify` would.
    const fullStarted = performance.now();
    const full = await verifyAuditChainFromPoint(db, AUDIT_KEY, { full: true });
    const fullSeconds = (performance.now() - fullStarted) / 1000;
    if (!full.ok) throw new Error(`the filled log does not verify: ${JSON.stringify(full.firstBad)}`);
    rows.push(['auditChainStatus (incremental, after a full check)', await timed(chain)]);
    const plans = await Promise.all(
      [
        ['e-mail', 'lower(btrim(email)) = lower(btrim($1))', customer.email],
        ['national id', 'national_id = btrim($1)', customer.national_id],
        ['name and birth date', `lower(btrim(full_name)) = lower(btrim($1)) AND birth_date = '${customer.birth_date}'::date`, customer.full_name],
      ].map(async ([what, where, value]) => {
        const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM customers WHERE ${where}`, [value]);
        const index = plan.rows.map((r) => r['QUERY PLAN']).find((line) => /Index|Bitmap/.test(line)) ?? 'no index: sequential scan';
        return `${what}: ${index.trim()}`;
      }),
    );
    const worst = rows.reduce((a, b) => (b[1] > a[1] ? b : a));
    const log = await db.query<{ n: number; size: string }>("SELECT count(*) AS n, pg_size_pretty(pg_total_relation_size('audit_log')) AS size FROM audit_log");
    return [
      `## Officer panels at ${Number(log.rows[0]?.n).toLocaleString('en-US')} audit records`,
      '',
      `PostgreSQL on 127.0.0.1 (audit_log ${log.rows[0]?.size}), demo scale ${SCALE} (${CUSTOMERS.toLocaleString('en-US')} customers); the log filled through the writer in ` +
        `batches of ${FILL_BATCH.toLocaleString('en-US')} over ${DAYS} days${fillSeconds === null ? ' by an earlier run' : ` in ${fillSeconds.toFixed(0)} s`}. ` +
        `Each question asked through the officer GraphQL API with the dashboard's default filter (last ${DAYS} days, agents), median of ${RUNS}. ` +
        `A full chain check (${full.checked.toLocaleString('en-US')} records) took ${fullSeconds.toFixed(1)} s. Node ${process.version}, ${availableParallelism()} cores, load ` +
        `${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before.`,
      '',
      '| officer question | median ms | under 1 s |',
      '|---|---:|---|',
      ...rows.map(([panel, time]) => `| ${panel} | ${ms(time)} | ${time < TARGET_MS ? 'yes' : 'no'} |`),
      '',
      `Worst: ${worst[0]} at ${ms(worst[1])} ms. Who-has-seen lookups: ${plans.join('; ')}.`,
      '',
    ].join('\n');
  } finally {
    broker.stop();
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
