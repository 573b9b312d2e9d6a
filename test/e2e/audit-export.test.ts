import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createPostgresTestDatabase } from '../support/databases.ts';
import { loadWorld } from '../support/fixtures.ts';
import { PROJECT_ROOT, startTestBroker } from '../support/broker.ts';

describe('keyhole audit export (CLI, real PostgreSQL)', () => {
  it('exports every record with its chain hashes and subject pseudonyms, as JSON Lines and CSV', async () => {
    const t = await createPostgresTestDatabase();
    try {
      await loadWorld(t.db);
      const kh = await startTestBroker(t.db);
      await kh.graphql(await kh.token('support-bot'), '{ customers(limit: 3) { id } }');
      await kh.graphql(null, '{ viewer { agent } }');
      const env = { ...process.env, DATABASE_URL: t.url!, KEYHOLE_DATA_DIR: kh.dataDir, KEYHOLE_ROOT: PROJECT_ROOT };
      const run = (format: string) => promisify(execFile)(process.execPath, [`${PROJECT_ROOT}bin/keyhole.ts`, 'audit', 'export', '--format', format], { env });
      const lines = (await run('jsonl')).stdout.trim().split('\n').map((line) => JSON.parse(line));
      const stored = (await t.db.query<{ seq: number; hash: string; prev_hash: string }>('SELECT seq, hash, prev_hash FROM audit_log ORDER BY seq')).rows;
      expect(lines.map((r) => [r.seq, r.hash, r.prevHash])).toEqual(stored.map((r) => [r.seq, r.hash, r.prev_hash]));
      expect(lines[0]).toMatchObject({ decision: 'allowed', actorId: 'support-bot', subjectCount: 3 });
      expect(lines[0].subjects).toHaveLength(3);
      expect(lines[1]).toMatchObject({ decision: 'denied', code: 'UNAUTHENTICATED', subjects: [] });
      const csv = (await run('csv')).stdout.trim().split('\n');
      expect(csv[0]).toBe('seq,recordedAt,actorKind,actorId,purpose,actorLocation,operationKind,decision,code,tables,rowCount,subjectCount,jurisdictions,hash');
      expect(csv).toHaveLength(3);
      await kh.close();
    } finally {
      await t.drop();
    }
  });
});
