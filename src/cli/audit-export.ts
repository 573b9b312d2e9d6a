import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { type AuditRecord, recordFromRow } from '../audit/index.ts';
import { type CsvCell, csvRecords } from '../csv.ts';
import { CliError, withContext } from './context.ts';
import { progressBar } from './progress.ts';
import { stderr, stdout } from './output.ts';

const PAGE = 2_000;
const CSV_COLUMNS = [
  'seq',
  'recordedAt',
  'actorKind',
  'actorId',
  'purpose',
  'actorLocation',
  'operationKind',
  'decision',
  'code',
  'tables',
  'rowCount',
  'subjectCount',
  'jurisdictions',
  'hash',
] as const;

function csvCell(value: AuditRecord[(typeof CSV_COLUMNS)[number]]): CsvCell {
  return Array.isArray(value) ? value.join(' ') : value instanceof Date ? value.toISOString() : value;
}

function line(record: AuditRecord & { subjects: Array<[string, string | null]> }, format: 'jsonl' | 'csv'): string {
  if (format === 'csv') return csvRecords([CSV_COLUMNS.map((column) => csvCell(record[column]))]);
  return `${JSON.stringify({ ...record, subjects: record.subjects.map(([subject, jurisdiction]) => ({ subject, jurisdiction })) })}\n`;
}

function parseDate(name: string, text: string | undefined): Date | null {
  if (!text) return null;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new CliError(`${name} "${text}" is not a date (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`);
  return date;
}

/** `keyhole audit export`: the records (with their hashes, so they can be checked elsewhere) and their subjects. */
export function registerAuditExport(audit: Command): void {
  audit
    .command('export')
    .description('Export audit records with their chain hashes and subject pseudonyms (JSON Lines or CSV)')
    .option('--from <date>', 'first recorded time to include')
    .option('--to <date>', 'recorded time to stop before')
    .option('--format <format>', 'jsonl (complete records) or csv (one line per record, main columns)', 'jsonl')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (options: { from?: string; to?: string; format: string; out?: string }) => {
      if (options.format !== 'jsonl' && options.format !== 'csv') throw new CliError('--format must be jsonl or csv');
      const format = options.format;
      const from = parseDate('--from', options.from);
      const to = parseDate('--to', options.to);
      const out: Writable = options.out ? createWriteStream(options.out) : stdout();
      await withContext('audit export', async ({ db }) => {
        const bar = options.out ? progressBar('exporting') : null;
        const where = 'seq > $1 AND ($2::timestamptz IS NULL OR recorded_at >= $2) AND ($3::timestamptz IS NULL OR recorded_at < $3)';
        const total = Number((await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM audit_log WHERE ${where}`, [0, from, to])).rows[0]?.n ?? 0);
        if (format === 'csv') out.write(csvRecords([CSV_COLUMNS]));
        let exported = 0;
        for (let after = 0; ; ) {
          const page = await db.query<Parameters<typeof recordFromRow>[0]>(`SELECT * FROM audit_log WHERE ${where} ORDER BY seq LIMIT ${PAGE}`, [
            after,
            from,
            to,
          ]);
          if (page.rows.length === 0) break;
          const seqs = page.rows.map((row) => Number(row.seq));
          const subjects = await db.query<{ audit_seq: number; subject: string; jurisdiction: string | null }>(
            'SELECT audit_seq, subject, jurisdiction FROM audit_subjects WHERE audit_seq = ANY($1::int8[]) ORDER BY subject',
            [seqs],
          );
          for (const row of page.rows) {
            const record = recordFromRow(row);
            const own = subjects.rows.filter((s) => Number(s.audit_seq) === record.seq).map((s): [string, string | null] => [s.subject, s.jurisdiction]);
            out.write(line({ ...record, subjects: own }, format));
          }
          exported += page.rows.length;
          after = seqs[seqs.length - 1]!;
          bar?.update(exported, total);
        }
        bar?.stop();
        if (options.out) {
          await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
          stderr().write(`exported ${exported} records to ${options.out}\n`);
        }
      });
    });
}
