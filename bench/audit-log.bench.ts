/**
 * The audit log at a million records (issue 12): how fast `audit verify` walks the chain, whether its memory
 * stays flat, and whether appending a group-commit batch slows down as the log grows. A fresh PostgreSQL
 * database is filled through the real writer (appendAuditRecords), so every record is chained and hashed as a
 * broker would write it, then verified by the same function the CLI runs.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { appendAuditRecords, KnownPseudonyms, knownReach, subjectPseudonym, verifyAuditChain } from '../src/audit/index.ts';
import type { Db } from '../src/sql/index.ts';
import { createEmptyBenchDatabase } from './support/database.ts';
import { median, ms } from './support/stats.ts';
import { probeDraft } from './support/audit-drafts.ts';

const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000);
const FILL_BATCH = 2_000;
const SUBJECTS_PER_RECORD = 5;
/** A support-bot page: the batch a busy broker commits at once, each record naming 50 people. */
const PROBE_BATCH = 8;
const PROBE_SUBJECTS = 50;
const PROBES = 30;
const PROBE_PEOPLE = 10_000;
const KEY = randomBytes(32);
const SUBJECT_KEY = randomBytes(32);

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/**
 * A log being written, with the probes' people as a broker's batcher remembers them: their keys are not read again,
 * and, where the log keeps officer summaries, their reach keys are not written again.
 */
interface Log {
  db: Db;
  known: KnownPseudonyms;
  reach?: ReturnType<typeof knownReach>;
}

/** Time to commit `count` records, drafted beforehand so that only the writer is timed. */
async function appendBatch(log: Log, first: number, count: number, subjects: number, people: number): Promise<number> {
  const drafts = Array.from({ length: count }, (_, i) =>
    probeDraft(
      first + i,
      new Map(Array.from({ length: subjects }, (_, k) => [subjectPseudonym(SUBJECT_KEY, 'customer', ((first + i) * subjects + k) % people), 'SG'])),
    ),
  );
  const scope = people === PROBE_PEOPLE ? log.known.scope() : undefined;
  const reach = people === PROBE_PEOPLE ? log.reach?.scope() : undefined;
  const started = performance.now();
  await log.db.transaction((tx) => appendAuditRecords(tx, KEY, drafts, scope, reach));
  scope?.commit();
  reach?.commit();
  return performance.now() - started;
}

/** Median time to commit one broker-sized batch at each log's current size, the logs' probes taking turns so that load falls on both alike. */
async function probeAppend(logs: readonly Log[], next: number): Promise<number[]> {
  const times = logs.map((): number[] => []);
  for (let i = 0; i < PROBES; i++) {
    for (const [n, log] of logs.entries()) times[n]!.push(await appendBatch(log, next + i * PROBE_BATCH, PROBE_BATCH, PROBE_SUBJECTS, PROBE_PEOPLE));
  }
  return times.map(median);
}

/** A second log without the officer summaries' triggers (150-officer-summaries.sql): what they cost a batch. */
async function createLogWithoutSummaries() {
  const database = await createEmptyBenchDatabase({ poolSize: 2 });
  await database.db.exec(`DROP TRIGGER audit_log_summary_insert ON audit_log; DROP TRIGGER audit_subject_lists_summary_insert ON audit_subject_lists`);
  return database;
}

export default async function auditLogBench(): Promise<string> {
  const loadBefore = loadavg();
  const database = await createEmptyBenchDatabase({ poolSize: 2 });
  const unsummarised = await createLogWithoutSummaries().catch(async (error) => {
    await database.drop();
    throw error;
  });
  const db = database.db;
  const log: Log = { db, known: new KnownPseudonyms(), reach: knownReach() };
  const logs = [log, { db: unsummarised.db, known: new KnownPseudonyms() }];
  try {
    // The probes' people get their keys first (and the broker's memory of them), so the probes measure appending, not making keys.
    for (const each of logs) await appendBatch(each, 0, PROBE_PEOPLE / PROBE_SUBJECTS, PROBE_SUBJECTS, PROBE_PEOPLE);
    let written = PROBE_PEOPLE / PROBE_SUBJECTS;
    const [appendEmpty = Number.NaN, appendUnsummarised = Number.NaN] = await probeAppend(logs, written);
    written += PROBES * PROBE_BATCH;
    const fillStarted = performance.now();
    while (written < RECORDS) {
      const count = Math.min(FILL_BATCH, RECORDS - written);
      await appendBatch(log, written, count, SUBJECTS_PER_RECORD, 100_000);
      written += count;
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    // VACUUM refuses to run inside a transaction, and several statements in one exec are one.
    for (const table of ['audit_log', 'audit_subject_lists', 'subject_keys']) await db.exec(`VACUUM ANALYZE ${table}`);
    const [appendFull = Number.NaN] = await probeAppend([log], written);
    written += PROBES * PROBE_BATCH;

    // The heap's peak over each half of the walk: a walk that kept what it read would peak higher in the second.
    const peakHeap = [0, 0];
    const verifyStarted = performance.now();
    const verifyCpu = process.cpuUsage();
    const result = await verifyAuditChain(db, KEY, (checked, total) => {
      const half = checked <= total / 2 ? 0 : 1;
      peakHeap[half] = Math.max(peakHeap[half]!, process.memoryUsage().heapUsed);
    });
    const { user, system } = process.cpuUsage(verifyCpu);
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    if (!result.ok || result.checked !== written) throw new Error(`verify found ${result.bad.length} faults in ${result.checked} of ${written} records`);
    const { rows } = await db.query<{ log: string; subjects: string }>(
      "SELECT pg_size_pretty(pg_total_relation_size('audit_log')) AS log, pg_size_pretty(pg_total_relation_size('audit_subject_lists')) AS subjects",
    );
    const perSecond = Math.round(written / verifySeconds);
    return [
      `## Audit log at ${written.toLocaleString('en-US')} records`,
      '',
      `PostgreSQL on 127.0.0.1, a fresh database filled through the writer in batches of ${FILL_BATCH.toLocaleString('en-US')} records, ` +
        `${SUBJECTS_PER_RECORD} data subjects each (${Math.round(written / fillSeconds).toLocaleString('en-US')} records/s to fill; audit_log ${rows[0]?.log}, ` +
        `audit_subject_lists ${rows[0]?.subjects}). Node ${process.version}, ${availableParallelism()} cores, load ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} ` +
        `before, ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')} after.`,
      '',
      '| measure | value | target |',
      '|---|---:|---|',
      `| \`audit verify\` (verifyAuditChain, every record and its subjects) | ${perSecond.toLocaleString('en-US')} records/s (${verifySeconds.toFixed(1)} s) | ≥ 100,000 records/s: ${perSecond >= 100_000 ? 'met' : 'not met'} |`,
      // Records/s moves with the machine's load; the CPU each record costs this process moves much less.
      `| verify's CPU in this process (parsing rows, hashing) | ${((user + system) / written).toFixed(1)} µs per record | |`,
      `| verify's peak heap, first half of the walk → second half | ${mb(peakHeap[0]!)} → ${mb(peakHeap[1]!)} | flat: it holds two pages of 2,000 records at a time |`,
      `| one group commit of ${PROBE_BATCH} records × ${PROBE_SUBJECTS} subjects, log of ${(PROBE_PEOPLE / PROBE_SUBJECTS).toLocaleString('en-US')} records (median of ${PROBES}) | ${ms(appendEmpty)} ms | |`,
      `| the same without the officer summaries' triggers, probes taking turns with the above | ${ms(appendUnsummarised)} ms (summaries cost ${(appendEmpty / appendUnsummarised).toFixed(2)}×) | summaries ≤ 1.25×: ${appendEmpty <= 1.25 * appendUnsummarised ? 'met' : 'not met'} |`,
      `| the same at ${written.toLocaleString('en-US')} records | ${ms(appendFull)} ms (${(appendFull / appendEmpty).toFixed(2)}×) | no slow-down as the log grows |`,
      '',
    ].join('\n');
  } finally {
    await Promise.all([database.drop(), unsummarised.drop()]);
  }
}
